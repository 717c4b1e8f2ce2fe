//! Format-agnostic plumbing shared by every layer: atomic writes and input hashing.

pub mod atomic;
pub mod hash;
pub mod open;
