//! Goal: action export v1 is stable, versioned and mode-blind (issue 8
//! item 4): golden files for every corpus thread, the same actions for a
//! legacy thread and its migrated twin (Codex's own migration), and every
//! action valid against docs/action-export-v1.schema.json.
//! Method: export every corpus thread and compare with the golden file
//! (`SPOOL_BLESS=1` rewrites them; review the diff); check each action
//! against the schema with a validator of the keywords the schema uses.

use std::path::Path;

use serde_json::Value;
use spool_compat::{CodexHome, export_actions};

use super::jsonl_files::codex_corpus;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/codex/actions");
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/action-export-v1.schema.json"
);

/// Checks `value` against `schema` for the keywords the v1 schema uses
/// (type, const, enum, required, additionalProperties, properties, items);
/// any other keyword in the schema fails the test, so the validator can
/// never silently skip a rule.
fn validate(schema: &Value, value: &Value, at: &str) -> Result<(), String> {
    let known = [
        "$schema",
        "$id",
        "title",
        "description",
        "type",
        "const",
        "enum",
        "required",
        "additionalProperties",
        "properties",
        "items",
    ];
    for key in schema.as_object().unwrap().keys() {
        assert!(
            known.contains(&key.as_str()),
            "the test validator does not know `{key}`"
        );
    }
    if let Some(types) = schema.get("type") {
        let types: Vec<&str> = match types {
            Value::String(t) => vec![t.as_str()],
            Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
            _ => panic!("bad type"),
        };
        let ok = types.iter().any(|t| match *t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "null" => value.is_null(),
            other => panic!("type {other}"),
        });
        if !ok {
            return Err(format!("{at}: {value} is not {types:?}"));
        }
    }
    if let Some(c) = schema.get("const")
        && c != value
    {
        return Err(format!("{at}: {value} is not {c}"));
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Value::Object(map) = value {
        for key in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if !map.contains_key(key.as_str().unwrap()) {
                return Err(format!("{at}: {key} missing"));
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        for (key, field) in map {
            match properties.and_then(|p| p.get(key)) {
                Some(rule) => validate(rule, field, &format!("{at}.{key}"))?,
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    return Err(format!("{at}: unexpected {key}"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(rule)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            validate(rule, item, &format!("{at}[{i}]"))?;
        }
    }
    Ok(())
}

fn lines(actions: &[Value]) -> String {
    actions
        .iter()
        .map(|a| serde_json::to_string(a).unwrap() + "\n")
        .collect()
}

#[tokio::test]
async fn every_corpus_thread_exports_its_golden_actions_valid_against_the_schema() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let schema: Value = serde_json::from_slice(&std::fs::read(SCHEMA).unwrap()).unwrap();
    let bless = std::env::var_os("SPOOL_BLESS").is_some();
    let mut threads = 0;
    for home in std::fs::read_dir(&corpus).unwrap() {
        let home = home.unwrap().path();
        if !home.is_dir() {
            continue;
        }
        let codex = CodexHome::new(&home);
        for files in codex.threads().unwrap() {
            let thread = codex.open_thread(&files.id).await.unwrap();
            let actions = export_actions(&thread).await.unwrap();
            for (i, action) in actions.iter().enumerate() {
                validate(&schema, action, &format!("{}[{i}]", files.id)).unwrap();
            }
            let name = format!(
                "{}-{}.jsonl",
                home.file_name().unwrap().to_string_lossy(),
                files.id
            );
            let golden = Path::new(GOLDEN).join(&name);
            if bless {
                std::fs::create_dir_all(GOLDEN).unwrap();
                std::fs::write(&golden, lines(&actions)).unwrap();
            }
            assert_eq!(
                lines(&actions),
                std::fs::read_to_string(&golden).unwrap(),
                "{name}"
            );
            threads += 1;
        }
    }
    assert_eq!(threads, 7);
}

#[tokio::test]
async fn a_legacy_thread_and_its_migrated_twin_export_the_same_actions() {
    let Some(corpus) = codex_corpus() else {
        return;
    };
    let id = "01a1fe9d-47ae-7493-8d77-19558768d2c5".parse().unwrap();
    let legacy = CodexHome::new(corpus.join("appserver-legacy"));
    let migrated = CodexHome::new(corpus.join("migrated-appserver-legacy"));
    let a = export_actions(&legacy.open_thread(&id).await.unwrap())
        .await
        .unwrap();
    let b = export_actions(&migrated.open_thread(&id).await.unwrap())
        .await
        .unwrap();
    assert_eq!(a, b);
    // What the thread did: 3 turns, 2 commands and 3 patches (one failed).
    let count = |kind: &str| a.iter().filter(|x| x["action_type"] == kind).count();
    assert_eq!((count("turn_started"), count("turn_completed")), (3, 3));
    assert_eq!(count("command"), 2);
    assert_eq!(count("file_change"), 3);
    let failed: Vec<&Value> = a.iter().filter(|x| x["status"] == "failed").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["changed_paths"], serde_json::json!(["hello.txt"]));
    // No prompts, no reasoning, no message text.
    let text = lines(&a);
    assert!(!text.contains("SCENARIO"), "user text leaked");
    assert!(!text.contains("All done"), "agent text leaked");
}

#[test]
fn the_validator_rejects_what_the_schema_forbids() {
    let schema: Value = serde_json::from_slice(&std::fs::read(SCHEMA).unwrap()).unwrap();
    let good = serde_json::json!({"schema_version":1,"session_id":null,"turn_id":null,"timestamp":"t","action_type":"command","tool_name":"x","command":"ls","changed_paths":null,"status":"completed","exit_code":0});
    assert!(validate(&schema, &good, "a").is_ok());
    for (key, bad) in [
        ("schema_version", serde_json::json!(2)),
        ("action_type", serde_json::json!("dance")),
        ("exit_code", serde_json::json!("0")),
        ("changed_paths", serde_json::json!([1])),
    ] {
        let mut v = good.clone();
        v[key] = bad;
        assert!(validate(&schema, &v, "a").is_err(), "{key}");
    }
    let mut extra = good.clone();
    extra["prompt"] = serde_json::json!("secret");
    assert!(validate(&schema, &extra, "a").is_err());
    let mut missing = good;
    missing.as_object_mut().unwrap().remove("status");
    assert!(validate(&schema, &missing, "a").is_err());
}
