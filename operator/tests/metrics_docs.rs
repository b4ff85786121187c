//! The operator's `/metrics` exposition declares exactly the metrics (and types) that the
//! table in docs/operations.md lists for the operator.

use bukubesar_testkit::prometheus;
use operator::metrics::Metrics;

#[test]
fn the_documented_metrics_are_the_served_ones() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/operations.md");
    let table = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let metrics = Metrics::new();
    metrics.observe(std::time::Duration::from_millis(20), false);
    let scrape = prometheus::parse(&metrics.render());
    prometheus::assert_documented(&scrape, &table, "operator");
}
