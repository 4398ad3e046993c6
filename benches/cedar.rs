//! Cost of Cedar decisions over typed arguments, of filtering `tools/list` with them, and of
//! validating the policies against a catalog at start-up.

use std::hint::black_box;
use std::sync::Arc;

use agent_airlock::layers::policy::{CedarPolicies, PolicyEngine};
use agent_airlock::{Caller, ToolCall, ToolCatalog};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;

const TOOLS: usize = 1000;

fn catalog() -> Arc<ToolCatalog> {
    let tools: Vec<_> = (0..TOOLS)
        .map(|i| {
            json!({"name": format!("tool{i}"), "inputSchema": {"type": "object",
                "properties": {"path": {"type": "string"}, "amount": {"type": "number"},
                               "mode": {"enum": ["fast", "safe"]}},
                "required": ["path", "amount"]}})
        })
        .collect();
    Arc::new(ToolCatalog::from_mcp_json(&json!({ "tools": tools }).to_string()).unwrap())
}

/// 100 policies with conditions over the arguments: one permit per team's tool, and five
/// forbids over every tool.
fn spread() -> String {
    let mut text = String::new();
    for i in 0..95 {
        text.push_str(&format!(
            "permit(principal in Role::\"team{i}\", action == Action::\"call:tool{i}\", resource)\n\
               when {{ context.arguments.path like \"/srv/team{i}/*\" &&\n\
                      context.arguments.amount.lessThan(decimal(\"1000.0\")) }};\n"
        ));
    }
    for word in ["secret", "private", "keys", "backup", "root"] {
        text.push_str(&format!(
            "forbid(principal, action in Action::\"call_tool\", resource)\n\
               when {{ context.arguments.path like \"*/{word}/*\" }};\n"
        ));
    }
    text
}

/// 100 policies that all apply to one tool: the index by tool does not help.
fn crowded() -> String {
    (0..100)
        .map(|i| {
            format!(
                "permit(principal in Role::\"r{i}\", action == Action::\"call:tool42\", resource)\n\
                   when {{ context.arguments.path like \"/srv/{i}/*\" && \
                          (context.arguments has mode && context.arguments.mode == \"safe\") }};\n"
            )
        })
        .collect()
}

fn engine(policies: &str, catalog: &Arc<ToolCatalog>) -> PolicyEngine {
    let cedar = CedarPolicies::new(policies, None).unwrap();
    PolicyEngine::builder()
        .catalog(catalog.clone())
        .cedar(Arc::new(cedar))
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let catalog = catalog();
    let mut group = c.benchmark_group("cedar");
    let spread_engine = engine(&spread(), &catalog);
    let crowded_engine = engine(&crowded(), &catalog);
    let team = Caller::agent("bench").with_roles(["team42", "r99"]);
    let call = |path: &str| {
        ToolCall::new(
            "tool42",
            json!({"path": path, "amount": 12.5, "mode": "safe"}),
        )
        .with_caller(team.clone())
    };
    for (name, engine) in [
        ("100_policies", &spread_engine),
        ("100_policies_one_tool", &crowded_engine),
    ] {
        let path = if name == "100_policies" {
            "/srv/team42/a.txt"
        } else {
            "/srv/99/a.txt"
        };
        group.bench_function(format!("decision_{name}_permitted"), |b| {
            b.iter_batched(
                || call(path),
                |mut call| assert!(black_box(engine.check(&mut call)).is_ok()),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("decision_{name}_refused"), |b| {
            b.iter_batched(
                || call("/srv/other/secret/x"),
                |mut call| assert!(black_box(engine.check(&mut call)).is_err()),
                BatchSize::SmallInput,
            )
        });
    }
    group.bench_function("tools_list_1000_tools_100_policies", |b| {
        b.iter(|| assert_eq!(black_box(spread_engine.visible_tools(&team)).len(), 1))
    });
    // The same, with a permit that reaches every tool: each one is evaluated.
    let open_engine = engine(
        &format!(
            "{}permit(principal, action in Action::\"call_tool\", resource)\n\
               when {{ context.arguments.amount.lessThan(decimal(\"5.0\")) }};",
            spread()
        ),
        &catalog,
    );
    group.bench_function(
        "tools_list_1000_tools_101_policies_one_for_every_tool",
        |b| b.iter(|| assert_eq!(black_box(open_engine.visible_tools(&team)).len(), TOOLS)),
    );
    group.sample_size(10);
    group.bench_function("validate_100_policies_1000_tools", |b| {
        let cedar = CedarPolicies::new(&spread(), None).unwrap();
        b.iter(|| cedar.validate(black_box(&catalog)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
