//! Cost of StripGhostArgs + StrictSchema on a small call (5 typed fields).
//!
//! Compare, in one run: the handler alone, the router alone (deserialize and dispatch),
//! the two layers over a no-op inner service, and the whole stack. Futures are polled
//! once with `now_or_never`, so no runtime cost is measured.

use std::convert::Infallible;
use std::hint::black_box;

use agent_airlock::{StrictSchemaLayer, StripGhostArgsLayer, ToolCall, ToolResponse, ToolRouter};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::{Service, ServiceBuilder, ServiceExt, service_fn};

#[derive(Deserialize, JsonSchema)]
struct Search {
    query: String,
    limit: u32,
    offset: u32,
    exact: bool,
    lang: String,
}

async fn search(args: Search) -> Result<u32, Infallible> {
    Ok(args.limit
        + args.offset
        + u32::from(args.exact)
        + args.query.len() as u32
        + args.lang.len() as u32)
}

fn arguments() -> Value {
    json!({"query": "tower middleware", "limit": 20, "offset": 40, "exact": false, "lang": "en"})
}

fn call_once<S>(svc: &mut S, call: ToolCall) -> ToolResponse
where
    S: Service<ToolCall, Response = ToolResponse>,
    S::Error: std::fmt::Debug,
{
    let ready = svc
        .ready()
        .now_or_never()
        .expect("ready")
        .expect("ready ok");
    ready
        .call(call)
        .now_or_never()
        .expect("completes")
        .expect("no error")
}

fn bench(c: &mut Criterion) {
    let router = ToolRouter::builder()
        .tool("search", "Search the docs", search)
        .build()
        .expect("router");
    let catalog = router.catalog();
    let layers = || {
        ServiceBuilder::new()
            .layer(StripGhostArgsLayer::new(catalog.clone()))
            .layer(StrictSchemaLayer::new(catalog.clone()))
    };
    let new_call = || ToolCall::new("search", arguments());

    let mut group = c.benchmark_group("small_call_5_fields");
    group.bench_function("handler_direct", |b| {
        b.iter_batched(
            || Search {
                query: "tower middleware".into(),
                limit: 20,
                offset: 40,
                exact: false,
                lang: "en".into(),
            },
            |args| black_box(search(args).now_or_never()),
            BatchSize::SmallInput,
        )
    });

    let mut bare = router.clone();
    group.bench_function("router_only", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut bare, call)),
            BatchSize::SmallInput,
        )
    });

    let noop =
        || service_fn(|_call: ToolCall| async { Ok::<_, Infallible>(ToolResponse::text("ok")) });
    let mut ghost_only = ServiceBuilder::new()
        .layer(StripGhostArgsLayer::new(catalog.clone()))
        .service(noop());
    group.bench_function("ghost_layer_only", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut ghost_only, call)),
            BatchSize::SmallInput,
        )
    });
    let mut schema_only = ServiceBuilder::new()
        .layer(StrictSchemaLayer::new(catalog.clone()))
        .service(noop());
    group.bench_function("schema_layer_only", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut schema_only, call)),
            BatchSize::SmallInput,
        )
    });
    let mut noop_alone = noop();
    group.bench_function("noop_service_alone", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut noop_alone, call)),
            BatchSize::SmallInput,
        )
    });

    let mut layers_only = layers().service(service_fn(|_call: ToolCall| async {
        Ok::<_, Infallible>(ToolResponse::text("ok"))
    }));
    group.bench_function("ghost_and_schema_layers_only", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut layers_only, call)),
            BatchSize::SmallInput,
        )
    });

    let mut stack = layers().service(router.clone());
    group.bench_function("ghost_and_schema_and_router", |b| {
        b.iter_batched(
            new_call,
            |call| black_box(call_once(&mut stack, call)),
            BatchSize::SmallInput,
        )
    });

    let mut stack_ghost = layers().service(router.clone());
    group.bench_function("stack_with_one_ghost_stripped", |b| {
        b.iter_batched(
            || {
                let mut args = arguments();
                args["force"] = json!(true);
                ToolCall::new("search", args)
            },
            |call| black_box(call_once(&mut stack_ghost, call)),
            BatchSize::SmallInput,
        )
    });

    let mut stack_refuse = layers().service(router);
    group.bench_function("stack_refusing_a_type_error", |b| {
        b.iter_batched(
            || {
                let mut args = arguments();
                args["limit"] = json!("20");
                ToolCall::new("search", args)
            },
            |call| black_box(call_once(&mut stack_refuse, call)),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    // The engines alone, on one borrowed value: what each check costs without the
    // allocation and drop of a fresh call.
    let spec = catalog.get("search").expect("registered");
    let args = arguments();
    let limits = agent_airlock::InputLimits::default();
    let validator = spec.validator().expect("schema");
    let mut engines = c.benchmark_group("engines_5_fields");
    engines.bench_function("limits_check", |b| {
        b.iter(|| black_box(limits.check(black_box(&args))))
    });
    engines.bench_function("resolve_tool_name", |b| {
        b.iter(|| black_box(catalog.resolve("bench", black_box("search")).is_ok()))
    });
    engines.bench_function("find_ghosts", |b| {
        b.iter(|| {
            black_box(agent_airlock::layers::strip_ghost_args::find_ghosts(
                spec,
                black_box(&args),
            ))
        })
    });
    engines.bench_function("schema_is_valid", |b| {
        b.iter(|| black_box(validator.is_valid(black_box(&args))))
    });
    engines.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
