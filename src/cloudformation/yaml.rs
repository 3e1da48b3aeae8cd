//! The template as YAML (`--format yaml`), through yaml-rust2's emitter: intrinsic functions
//! stay in their long form (`Fn::Sub:`), which CloudFormation reads in YAML as in JSON.

use serde_json::Value;
use yaml_rust2::{yaml::Hash, Yaml, YamlEmitter};

/// A JSON template written as a YAML document.
pub fn to_yaml(template: &Value) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline_strings(true);
    emitter
        .dump(&convert(template))
        .expect("writing to a String cannot fail");
    let mut quoted: String = out.lines().map(|l| quote_date(l) + "\n").collect();
    if quoted.is_empty() {
        quoted.push('\n');
    }
    quoted
}

/// A line whose plain scalar is a date (`2010-09-09`) with that scalar quoted: yaml-rust2
/// quotes what YAML 1.2 reads as other than a string, but YAML 1.1 parsers (PyYAML, which
/// cfn-lint and checkov use) read a plain date as a date.
fn quote_date(line: &str) -> String {
    let (head, scalar) = match line.rsplit_once(": ") {
        Some((head, scalar)) => (format!("{head}: "), scalar),
        None => match line.trim_start().strip_prefix("- ") {
            Some(scalar) => (line[..line.len() - scalar.len()].to_string(), scalar),
            None => return line.to_string(),
        },
    };
    let b = scalar.as_bytes();
    let is_date = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if is_date {
        format!("{head}\"{scalar}\"")
    } else {
        line.to_string()
    }
}

fn convert(value: &Value) -> Yaml {
    match value {
        Value::Null => Yaml::Null,
        Value::Bool(b) => Yaml::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Yaml::Integer(i),
            None => Yaml::Real(n.to_string()),
        },
        Value::String(s) => Yaml::String(s.clone()),
        Value::Array(items) => Yaml::Array(items.iter().map(convert).collect()),
        Value::Object(map) => {
            let mut hash = Hash::new();
            for (k, v) in map {
                hash.insert(Yaml::String(k.clone()), convert(v));
            }
            Yaml::Hash(hash)
        }
    }
}
