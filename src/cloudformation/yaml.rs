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
    out.push('\n');
    out
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
