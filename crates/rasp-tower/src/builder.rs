//! [`ServiceBuilderExt`]: one method per middleware on tower's
//! `ServiceBuilder`.

use tower::ServiceBuilder;
use tower_layer::Stack;

use crate::rasp::{RaspLayer, Rules};
use crate::rate_limit::{KeyExtractor, RateLimitLayer};

mod sealed {
    pub trait Sealed<T> {}
    impl<L> Sealed<L> for tower::ServiceBuilder<L> {}
}

/// Adds rasp's layers to a `ServiceBuilder`.
///
/// ```
/// use rasp_tower::{RateLimitLayer, Rules, ServiceBuilderExt};
/// use tower::ServiceBuilder;
///
/// # fn main() -> Result<(), rasp_tower::RulesError> {
/// let rules = Rules::from_seclang("inline", r#"SecRule ARGS "@contains attack" "id:1,phase:2,deny""#)?;
/// let builder = ServiceBuilder::new()
///     .keyed_rate_limit(RateLimitLayer::new().per_second(10))
///     .rasp(rules);
/// # let _ = builder;
/// # Ok(())
/// # }
/// ```
pub trait ServiceBuilderExt<L>: sealed::Sealed<L> + Sized {
    /// Adds a [`RaspLayer`] with default settings.
    fn rasp(self, rules: impl Into<Rules>) -> ServiceBuilder<Stack<RaspLayer, L>>;

    /// Adds a configured [`RateLimitLayer`].
    fn keyed_rate_limit<X: KeyExtractor>(
        self,
        layer: RateLimitLayer<X>,
    ) -> ServiceBuilder<Stack<RateLimitLayer<X>, L>>;
}

impl<L> ServiceBuilderExt<L> for ServiceBuilder<L> {
    fn rasp(self, rules: impl Into<Rules>) -> ServiceBuilder<Stack<RaspLayer, L>> {
        self.layer(RaspLayer::new(rules))
    }

    fn keyed_rate_limit<X: KeyExtractor>(
        self,
        layer: RateLimitLayer<X>,
    ) -> ServiceBuilder<Stack<RateLimitLayer<X>, L>> {
        self.layer(layer)
    }
}
