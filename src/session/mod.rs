//! The session: the cookies that hold it ([`cookies`]) and refreshing it when its access
//! token expires ([`refresh`]), once across isolates with a shared store ([`coordinate`]).

pub(crate) mod cookies;
pub(crate) mod coordinate;
pub(crate) mod refresh;

#[cfg(feature = "_integration_test")]
pub use crate::oauth::{calls::MAX_IN_FLIGHT as MAX_REFRESHES_IN_FLIGHT, client::Tokens};
pub use cookies::Session;
pub(crate) use cookies::SessionCookies;
pub use coordinate::{StoreAction, StoreOp, Stored};
pub use refresh::Refresher;
#[cfg(feature = "_integration_test")]
pub use refresh::RETRY_AFTER_UNREACHABLE;
