//! The command line's view of the library's named options ([`crate::choice::Named`]): one value
//! parser for every such enum, so the library derives nothing from clap.

use std::ffi::OsStr;
use std::marker::PhantomData;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

use crate::choice::Named;

/// Parses one of `T`'s names (clap's messages, `ignore_case` and `--help` listing as for a
/// `ValueEnum`).
pub fn choice<T: Named>() -> Choice<T> {
    Choice(PhantomData)
}

/// The value parser behind [`choice`].
#[derive(Clone, Copy, Debug)]
pub struct Choice<T>(PhantomData<fn() -> T>);

impl<T: Named> Choice<T> {
    fn values() -> impl Iterator<Item = PossibleValue> {
        T::CHOICES.iter().map(|&(_, name, help)| PossibleValue::new(name).help(help.trim().trim_end_matches('.')))
    }
}

impl<T: Named> TypedValueParser for Choice<T> {
    type Value = T;

    fn parse_ref(&self, cmd: &clap::Command, arg: Option<&clap::Arg>, value: &OsStr) -> Result<T, clap::Error> {
        let text = PossibleValuesParser::new(Self::values()).parse_ref(cmd, arg, value)?;
        let ignore_case = arg.is_some_and(clap::Arg::is_ignore_case_set);
        let found = T::CHOICES.iter().find(|&&(_, name, _)| PossibleValue::new(name).matches(&text, ignore_case));
        // The possible-values parser accepted `text`, so one of the names matches it.
        found.map(|&(v, ..)| v).ok_or_else(|| clap::Error::new(clap::error::ErrorKind::InvalidValue).with_cmd(cmd))
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new(Self::values()))
    }
}
