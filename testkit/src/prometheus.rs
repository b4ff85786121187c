//! A strict reader of the Prometheus text exposition format (version 0.0.4) for tests: every
//! line must be a `# HELP`, a `# TYPE`, a blank line or a sample; every sample must belong to
//! a declared metric; histograms must have increasing cumulative buckets ending in `+Inf` equal
//! to `_count`. Panics with the offending line otherwise.

use std::collections::{BTreeMap, HashMap};

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed scrape.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    pub types: HashMap<String, String>,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// The value of the sample `name` whose labels include every pair of `labels`, summed over
    /// the samples that match (0 when none does).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    /// Whether a metric of this name and type was declared.
    pub fn has(&self, name: &str, kind: &str) -> bool {
        self.types.get(name).map(String::as_str) == Some(kind)
    }
}

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(text: &str) -> Option<f64> {
    match text {
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        "NaN" => Some(f64::NAN),
        other => other.parse().ok(),
    }
}

/// `{a="x",b="y"}` (the braces included) into pairs; values may escape `\\`, `\"` and `\n`.
fn parse_labels(text: &str) -> Option<BTreeMap<String, String>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut labels = BTreeMap::new();
    let mut rest = inner;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"")?;
        if !is_name(name) {
            return None;
        }
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    escaped @ ('\\' | '"') => value.push(escaped),
                    _ => return None,
                },
                '"' => break i,
                other => value.push(other),
            }
        };
        labels.insert(name.to_owned(), value);
        rest = &after[end + 1..];
        rest = match rest.strip_prefix(',') {
            Some(more) => more,
            None if rest.is_empty() => rest,
            None => return None,
        };
    }
    Some(labels)
}

/// The metric a sample belongs to (`x_bucket`/`x_sum`/`x_count` belong to histogram `x`).
fn family<'a>(name: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        matches!(
            types.get(base).map(String::as_str),
            Some("histogram" | "summary")
        )
        .then_some(base)
    })
}

/// Parses `text`, panicking on anything that is not valid exposition format.
pub fn parse(text: &str) -> Scrape {
    let mut scrape = Scrape::default();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with("# HELP ") {
            continue;
        }
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            let (name, kind) = declaration
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad TYPE line: {line}"));
            assert!(is_name(name), "bad metric name: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "bad metric type: {line}"
            );
            assert!(
                scrape
                    .types
                    .insert(name.to_owned(), kind.to_owned())
                    .is_none(),
                "metric declared twice: {line}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment line: {line}");
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("sample without value: {line}"));
        let value = parse_value(value).unwrap_or_else(|| panic!("bad sample value: {line}"));
        let (name, labels) = match series.find('{') {
            Some(open) => (
                &series[..open],
                parse_labels(&series[open..]).unwrap_or_else(|| panic!("bad labels: {line}")),
            ),
            None => (series, BTreeMap::new()),
        };
        assert!(is_name(name), "bad metric name: {line}");
        let family = family(name, &scrape.types)
            .unwrap_or_else(|| panic!("sample of an undeclared metric: {line}"));
        if scrape.types[family] == "counter" {
            assert!(value >= 0.0, "negative counter: {line}");
        }
        scrape.samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    check_histograms(&scrape);
    scrape
}

/// A series' labels other than `le`, in order.
type LabelPairs = Vec<(String, String)>;

fn check_histograms(scrape: &Scrape) {
    for (name, _) in scrape.types.iter().filter(|(_, kind)| *kind == "histogram") {
        let bucket = format!("{name}_bucket");
        let mut series: BTreeMap<LabelPairs, Vec<(f64, f64)>> = BTreeMap::new();
        for sample in scrape.samples.iter().filter(|s| s.name == bucket) {
            let le = sample
                .labels
                .get("le")
                .and_then(|le| parse_value(le))
                .unwrap_or_else(|| panic!("bucket without le: {sample:?}"));
            let key: Vec<(String, String)> = sample
                .labels
                .iter()
                .filter(|(k, _)| *k != "le")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            series.entry(key).or_default().push((le, sample.value));
        }
        for (labels, buckets) in series {
            assert!(
                buckets
                    .windows(2)
                    .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
                "{name} {labels:?}: buckets not increasing: {buckets:?}"
            );
            let (last_le, last_count) = *buckets.last().expect("at least one bucket");
            assert!(last_le.is_infinite(), "{name} {labels:?}: no +Inf bucket");
            let pairs: Vec<(&str, &str)> = labels
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(
                scrape.value(&format!("{name}_count"), &pairs),
                last_count,
                "{name} {labels:?}: +Inf bucket != _count"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_gauges_and_histograms() {
        let scrape = parse(
            "# HELP a_total A.\n# TYPE a_total counter\na_total{route=\"/x\",status=\"200\"} 3\n\
             a_total{route=\"/y\\\"z\",status=\"500\"} 1\n\n# TYPE g gauge\ng 0.5\n\
             # TYPE h_seconds histogram\nh_seconds_bucket{le=\"0.1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 2\n\
             h_seconds_sum 0.3\nh_seconds_count 2\n",
        );
        assert_eq!(scrape.value("a_total", &[("route", "/x")]), 3.0);
        assert_eq!(scrape.value("a_total", &[]), 4.0);
        assert_eq!(scrape.value("a_total", &[("route", "/y\"z")]), 1.0);
        assert_eq!(scrape.value("g", &[]), 0.5);
        assert!(scrape.has("h_seconds", "histogram"));
        assert_eq!(scrape.value("h_seconds_count", &[]), 2.0);
    }

    #[test]
    #[should_panic(expected = "undeclared")]
    fn refuses_undeclared_samples() {
        parse("x 1\n");
    }

    #[test]
    #[should_panic(expected = "bad labels")]
    fn refuses_broken_labels() {
        parse("# TYPE x counter\nx{a=\"1} 1\n");
    }

    #[test]
    #[should_panic(expected = "+Inf bucket != _count")]
    fn refuses_inconsistent_histograms() {
        parse(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        );
    }
}

/// The metrics a Markdown table documents for `service`: every row
/// `` | `name` | counter/gauge/histogram | services | meaning | `` whose third cell names
/// `service` (comma-separated, or `both` for transaksi and mutasi), as name -> type.
pub fn documented(markdown: &str, service: &str) -> BTreeMap<String, String> {
    let mut documented = BTreeMap::new();
    for line in markdown.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        let [name, kind, services, ..] = cells.as_slice() else {
            continue;
        };
        let Some(name) = name.strip_prefix('`').and_then(|n| n.strip_suffix('`')) else {
            continue;
        };
        if !matches!(*kind, "counter" | "gauge" | "histogram") || !is_name(name) {
            continue;
        }
        let named = services
            .split(',')
            .map(str::trim)
            .any(|s| s == service || (s == "both" && matches!(service, "transaksi" | "mutasi")));
        if named {
            documented.insert(name.to_owned(), (*kind).to_owned());
        }
    }
    documented
}

/// Fails unless `scrape` (what `service`'s `/metrics` served) declares exactly the metrics,
/// with their types, that the table in `markdown` documents for `service`.
pub fn assert_documented(scrape: &Scrape, markdown: &str, service: &str) {
    let documented = documented(markdown, service);
    assert!(
        !documented.is_empty(),
        "no metric of {service} is documented"
    );
    let served: BTreeMap<String, String> = scrape
        .types
        .iter()
        .map(|(name, kind)| (name.clone(), kind.clone()))
        .collect();
    let undocumented: Vec<_> = served
        .iter()
        .filter(|(name, kind)| documented.get(*name) != Some(*kind))
        .collect();
    let not_served: Vec<_> = documented
        .iter()
        .filter(|(name, kind)| served.get(*name) != Some(*kind))
        .collect();
    assert!(
        undocumented.is_empty() && not_served.is_empty(),
        "{service}: /metrics and the documented metrics differ\n  served, not documented so: \
         {undocumented:?}\n  documented, not served so: {not_served:?}"
    );
}

#[cfg(test)]
mod documented_tests {
    use super::*;

    const TABLE: &str = "\
| metric | type | service | meaning |
|---|---|---|---|
| `http_server_requests_total` | counter | both | requests |
| `outbox_backlog` | gauge | transaksi | rows |
| `mutasi_consumer_lag` | gauge | mutasi | entries |
| `bukubesar_operator_leader` | gauge | operator | lease |
";

    #[test]
    fn rows_are_read_per_service() {
        let transaksi = documented(TABLE, "transaksi");
        assert_eq!(
            transaksi.keys().collect::<Vec<_>>(),
            ["http_server_requests_total", "outbox_backlog"]
        );
        assert_eq!(documented(TABLE, "operator").len(), 1);
    }

    #[test]
    fn a_difference_either_way_fails() {
        let scrape = parse(
            "# TYPE outbox_backlog gauge\noutbox_backlog 0\n\
             # TYPE http_server_requests_total counter\nhttp_server_requests_total 1\n",
        );
        assert_documented(&scrape, TABLE, "transaksi");
        let missing = parse("# TYPE outbox_backlog gauge\noutbox_backlog 0\n");
        assert!(
            std::panic::catch_unwind(|| assert_documented(&missing, TABLE, "transaksi")).is_err()
        );
        let summary = parse(
            "# TYPE outbox_backlog summary\noutbox_backlog_sum 0\noutbox_backlog_count 0\n\
             # TYPE http_server_requests_total counter\nhttp_server_requests_total 1\n",
        );
        assert!(
            std::panic::catch_unwind(|| assert_documented(&summary, TABLE, "transaksi")).is_err()
        );
    }
}
