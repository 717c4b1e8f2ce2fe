//! Closed sets of named options (a normalisation method, an annotation format, an importer).
//!
//! Each variant's name and description live in one table, written once by [`named_enum!`]: the
//! library uses the names in file names, metadata and messages, and `cli::choice` turns the
//! table into the command line's possible values. The library itself does not depend on clap.

/// A closed set of named options.
pub trait Named: Copy + PartialEq + Send + Sync + 'static {
    /// Every variant with its name (as on the command line) and its description (the variant's
    /// doc comment), in help order.
    const CHOICES: &'static [(Self, &'static str, &'static str)];

    /// The variant's name.
    fn name(self) -> &'static str {
        Self::CHOICES.iter().find(|(v, ..)| *v == self).map_or("", |&(_, name, _)| name)
    }
}

/// Declares an enum whose variants are `Variant = "name"`, with [`Named`], `Display` (the
/// name) and an inherent `name()`; `default Variant` after the body derives nothing but writes
/// `Default`. Doc comments of the variants become the descriptions.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[doc = $doc:literal])*
                $variant:ident = $text:literal,
            )+
        }
        $(default $default:ident)?
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[doc = $doc])* $variant, )+
        }

        impl $crate::choice::Named for $name {
            const CHOICES: &'static [(Self, &'static str, &'static str)] =
                &[$( ($name::$variant, $text, concat!($($doc),*)) ),+];
        }

        impl $name {
            /// The name in files, metadata and on the command line.
            pub fn name(self) -> &'static str {
                $crate::choice::Named::name(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        $(
            impl Default for $name {
                fn default() -> Self {
                    $name::$default
                }
            }
        )?
    };
}

pub(crate) use named_enum;

#[cfg(test)]
mod tests {
    use super::Named;

    named_enum! {
        /// A test set.
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Colour {
            /// Like the sky
            /// on a clear day.
            Blue = "blue",
            /// Like grass.
            Green = "green-ish",
        }
        default Green
    }

    #[test]
    fn names_descriptions_and_default_come_from_one_table() {
        assert_eq!(Colour::Blue.name(), "blue");
        assert_eq!(Colour::Green.to_string(), "green-ish");
        assert_eq!(Colour::default(), Colour::Green);
        assert_eq!(Colour::CHOICES[0].2, " Like the sky on a clear day.");
        assert_eq!(Colour::CHOICES.len(), 2);
    }
}
