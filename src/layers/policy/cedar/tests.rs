use super::*;
use crate::service::{Caller, RejectionCode};
use serde_json::json;

fn call(tool: &str, agent: Option<&str>, arguments: Value) -> ToolCall {
    let caller = match agent {
        Some(id) => Caller::agent(id),
        None => Caller::default(),
    };
    ToolCall::new(tool, arguments).with_caller(caller)
}

fn catalog() -> SharedCatalog {
    SharedCatalog::new(
        ToolCatalog::from_mcp_json(
            r#"{"tools": [
            {"name": "write_file", "inputSchema": {"type": "object",
              "properties": {"path": {"type": "string"}, "content": {"type": "string"}},
              "required": ["path", "content"], "additionalProperties": false}},
            {"name": "transfer", "inputSchema": {"type": "object",
              "properties": {"amount": {"type": "number"}, "memo": {"type": "string"},
                "to": {"type": "string", "format": "uri"}},
              "required": ["amount"]}},
            {"name": "search", "inputSchema": {"type": "object",
              "properties": {"query": {"type": "string"}}}}
        ]}"#,
        )
        .unwrap(),
    )
}

fn compiled(policies: &str, catalog: &SharedCatalog) -> Result<CedarPolicies, PolicyError> {
    let cedar = CedarPolicies::new(policies, None)?.path_arguments(["write_file.path"]);
    cedar.validate(&catalog.snapshot())?;
    Ok(cedar)
}

#[test]
fn decisions_follow_the_arguments_without_a_catalog() {
    let cedar = CedarPolicies::new(
        r#"
        permit(principal, action == Action::"call:write_file", resource)
          when { context.arguments.path like "/workspace/*" };
        forbid(principal, action, resource == Tool::"write_file")
          when { context.arguments.path like "*/../*" };
        permit(principal is Agent, action in Action::"call_tool", resource == Tool::"transfer")
          when { context.arguments.amount.lessThanOrEqual(decimal("100.0")) };
        "#,
        None,
    )
    .unwrap();
    let decide = |mut c: ToolCall| cedar.decide(&mut c, None, 0);
    let write = |path: Value| call("write_file", Some("alice"), json!({"path": path}));
    assert!(decide(write(json!("/workspace/notes.md"))).is_ok());
    for refused in [
        json!("/etc/cron.d/x"),
        json!("/workspace/../etc/passwd"),
        json!(["/workspace/a"]),
        json!({"__entity": {"type": "Tool", "id": "x"}}),
        json!(7),
    ] {
        assert!(decide(write(refused.clone())).is_err(), "{refused}");
    }
    let transfer = |amount: Value| call("transfer", Some("alice"), json!({"amount": amount}));
    assert!(decide(transfer(json!(99.5))).is_ok());
    assert!(
        decide(transfer(json!(100.00001))).is_err(),
        "not rounded to 100"
    );
    assert!(decide(transfer(json!("50"))).is_err());
    assert!(
        decide(call("transfer", None, json!({"amount": 1}))).is_err(),
        "only agents"
    );
    assert!(
        decide(call("other", Some("alice"), json!({}))).is_err(),
        "no permit"
    );
}

#[test]
fn entities_from_the_file_are_used_and_bad_sources_are_named() {
    let cedar = CedarPolicies::new(
        r#"permit(principal in Group::"ops", action, resource) when { principal.team == "blue" && principal.verified == false };"#,
        Some(
            r#"[{"uid": {"type": "Agent", "id": "bob"}, "attrs": {"team": "blue"}, "parents": [{"type": "Group", "id": "ops"}]}]"#,
        ),
    )
    .unwrap();
    let catalog = catalog();
    cedar.validate(&catalog.snapshot()).unwrap();
    let decide = |mut c: ToolCall| cedar.decide(&mut c, Some(&catalog), 0);
    assert!(decide(call("search", Some("bob"), json!({}))).is_ok());
    assert!(decide(call("search", Some("eve"), json!({}))).is_err());
    let e = CedarPolicies::new("permit(principal, action, resource", None).unwrap_err();
    assert!(e.to_string().contains("do not parse"), "{e}");
}

#[test]
fn policies_that_do_not_fit_the_tools_fail_before_any_call() {
    let catalog = catalog();
    // A typo in an argument's name, a string compared with a number, an optional argument
    // read without `has`, a tool that does not exist.
    for (policy, named) in [
        (
            r#"@id("workspace-only") permit(principal, action == Action::"call:write_file", resource) when { context.arguments.pth like "/w/*" };"#,
            "workspace-only",
        ),
        (
            r#"permit(principal, action == Action::"call:write_file", resource) when { context.arguments.path == 3 };"#,
            "policy number 1",
        ),
        (
            r#"permit(principal, action, resource); permit(principal, action == Action::"call:transfer", resource) when { context.arguments.memo == "x" };"#,
            "policy number 2",
        ),
        (
            r#"permit(principal, action == Action::"call:delete_everything", resource);"#,
            "policy number 1",
        ),
    ] {
        let e = compiled(policy, &catalog).unwrap_err().to_string();
        assert!(e.contains(named), "{e}");
    }
    compiled(
        r#"permit(principal, action == Action::"call:transfer", resource)
             when { context.arguments has memo && context.arguments.memo == "x"
                    && context.arguments.amount.lessThan(decimal("10.5")) };"#,
        &catalog,
    )
    .unwrap();
}

#[test]
fn conditions_see_valid_typed_arguments_and_resolved_paths() {
    let catalog = catalog();
    let cedar = compiled(
        r#"
        permit(principal, action == Action::"call:write_file", resource)
          when { context.arguments.path like "/workspace/*" };
        permit(principal, action == Action::"call:transfer", resource)
          when { context.arguments.amount.lessThanOrEqual(decimal("100.0")) }
          unless { context.urls has to && context.urls.to.host != "bank.example" };
        "#,
        &catalog,
    )
    .unwrap();
    let mut c = call(
        "write_file",
        Some("a"),
        json!({"path": "//workspace/./notes//a.md/", "content": "x"}),
    );
    cedar.decide(&mut c, Some(&catalog), 0).unwrap();
    assert_eq!(
        c.arguments["path"], "/workspace/notes/a.md",
        "the call carries what was decided"
    );
    for path in [
        "/workspace/../etc/passwd",
        "/workspace/a/../../etc/cron.d/x",
        "/workspace/%2e%2e/etc/passwd",
        "/../workspace/x",
        "workspace/x",
    ] {
        let mut c = call(
            "write_file",
            Some("a"),
            json!({"path": path, "content": "x"}),
        );
        assert!(cedar.decide(&mut c, Some(&catalog), 0).is_err(), "{path}");
    }
    // Refused by the schema, so no condition sees it (here: a string for a number).
    let mut c = call("transfer", Some("a"), json!({"amount": "5"}));
    let e = cedar.decide(&mut c, Some(&catalog), 0).unwrap_err();
    assert_eq!(e.code, RejectionCode::SchemaViolation, "{e:?}");
    let mut c = call("transfer", Some("a"), json!({"amount": 5, "ghost": true}));
    assert!(
        cedar.decide(&mut c, Some(&catalog), 0).is_ok(),
        "undeclared members set aside"
    );
    for (to, ok) in [
        ("https://bank.example/pay", true),
        ("https://BANK.example:443/pay", true),
        ("https://bank.example@evil.example/pay", false),
        ("https://bank.example.evil.example/", false),
    ] {
        let mut c = call("transfer", Some("a"), json!({"amount": 5, "to": to}));
        assert_eq!(cedar.decide(&mut c, Some(&catalog), 0).is_ok(), ok, "{to}");
    }
}

#[test]
fn refusals_name_the_forbidding_policy_and_its_reason_only() {
    let catalog = catalog();
    let cedar = compiled(
        r#"
        @id("secret-policy") permit(principal, action, resource) when { principal.roles.contains("x") };
        permit(principal, action == Action::"call:search", resource);
        @id("no-passwords") @reason("queries may not name passwords")
        forbid(principal, action == Action::"call:search", resource)
          when { context.arguments has query && context.arguments.query like "*password*" };
        "#,
        &catalog,
    )
    .unwrap();
    let mut c = call("search", None, json!({"query": "the password"}));
    let e = cedar.decide(&mut c, Some(&catalog), 0).unwrap_err();
    assert!(
        e.message.contains("no-passwords") && e.message.contains("queries may not name"),
        "{}",
        e.message
    );
    let mut c = call("transfer", None, json!({"amount": 1}));
    let e = cedar.decide(&mut c, Some(&catalog), 0).unwrap_err();
    assert!(!e.message.contains("secret-policy"), "{}", e.message);
}

#[test]
fn listing_shows_what_some_arguments_could_permit_for_this_caller() {
    let catalog = catalog();
    let cedar = compiled(
        r#"
        permit(principal in Role::"writer", action == Action::"call:write_file", resource)
          when { context.arguments.path like "/workspace/*" };
        permit(principal, action == Action::"call:search", resource);
        forbid(principal is Anonymous, action == Action::"call:search", resource);
        "#,
        &catalog,
    )
    .unwrap();
    let mut writer = Caller::agent("w");
    writer.roles = vec!["writer".into()];
    let reader = Caller::agent("r");
    let lists = |caller: &Caller, tool: &str| cedar.lister(caller, Some(&catalog)).may_list(tool);
    assert!(lists(&writer, "write_file") && lists(&writer, "search"));
    assert!(!lists(&reader, "write_file") && lists(&reader, "search"));
    assert!(!lists(&Caller::default(), "search"));
    assert!(!lists(&writer, "transfer"));
}

#[test]
fn a_changed_catalog_that_breaks_the_policies_fails_closed() {
    let catalog = catalog();
    let cedar = compiled(
        r#"permit(principal, action == Action::"call:write_file", resource) when { context.arguments.path like "/w/*" };"#,
        &catalog,
    )
    .unwrap();
    let mut c = call("write_file", None, json!({"path": "/w/a", "content": ""}));
    assert!(cedar.decide(&mut c, Some(&catalog), 0).is_ok());
    catalog.replace(
        ToolCatalog::from_mcp_json(
            r#"{"tools": [{"name": "write_file", "inputSchema": {"type": "object", "properties": {"file": {"type": "string"}}}}]}"#,
        )
        .unwrap(),
    );
    let mut c = call("write_file", None, json!({"file": "/w/a"}));
    let e = cedar.decide(&mut c, Some(&catalog), 0).unwrap_err();
    assert!(e.message.contains("configuration"), "{}", e.message);
}

#[test]
fn a_policy_over_every_tool_is_checked_against_each_kind_of_arguments() {
    let with_path = |name: &str| {
        json!({"name": name, "inputSchema": {"type": "object",
            "properties": {"path": {"type": "string"}}, "required": ["path"]}})
    };
    let catalog = |tools: Vec<Value>| {
        SharedCatalog::new(
            ToolCatalog::from_mcp_json(&json!({ "tools": tools }).to_string()).unwrap(),
        )
    };
    let wide = r#"@id("no-secrets") forbid(principal, action in Action::"call_tool", resource)
                    when { context.arguments.path like "*/secret/*" };
                  permit(principal, action, resource);"#;
    let same = catalog(vec![with_path("a"), with_path("b"), with_path("c")]);
    compiled(wide, &same).unwrap();
    let mut c = call("b", None, json!({"path": "/x/secret/y"}));
    assert!(
        compiled(wide, &same)
            .unwrap()
            .decide(&mut c, Some(&same), 0)
            .is_err()
    );
    let mixed = catalog(vec![
        with_path("a"),
        with_path("b"),
        json!({"name": "c", "inputSchema": {"type": "object", "properties": {"query": {"type": "string"}}}}),
    ]);
    let e = compiled(wide, &mixed).unwrap_err().to_string();
    assert!(e.contains("no-secrets") && e.contains("call:c"), "{e}");
    assert!(!e.contains("call:b"), "{e}");
}

#[test]
fn relayed_resource_reads_and_prompts_are_put_to_the_policies() {
    let catalog = catalog();
    let cedar = compiled(
        r#"
        permit(principal, action == Action::"read_resource", resource)
          when { context.urls has uri && context.urls.uri.scheme == "config" };
        permit(principal is Agent, action == Action::"get_prompt", resource == Prompt::"greeting");
        @id("no-secrets") forbid(principal, action == Action::"read_resource", resource)
          when { context.arguments.uri like "*secret*" };
        "#,
        &catalog,
    )
    .unwrap();
    let read = |uri: &str| {
        cedar.decide_relayed(
            "resources/read",
            &json!({"uri": uri}),
            &Caller::default(),
            Some(&catalog),
            0,
        )
    };
    assert!(read("config://app").is_ok());
    assert!(read("file:///etc/passwd").is_err());
    let e = read("config://secret").unwrap_err();
    assert!(e.message.contains("no-secrets"), "{}", e.message);
    let prompt = |name: &str, caller: Caller| {
        cedar.decide_relayed(
            "prompts/get",
            &json!({"name": name}),
            &caller,
            Some(&catalog),
            0,
        )
    };
    assert!(prompt("greeting", Caller::agent("a")).is_ok());
    assert!(
        prompt("greeting", Caller::default()).is_err(),
        "agents only"
    );
    assert!(prompt("other", Caller::agent("a")).is_err());
    assert!(
        cedar
            .decide_relayed(
                "resources/list",
                &json!({}),
                &Caller::default(),
                Some(&catalog),
                0
            )
            .is_ok(),
        "not Cedar's to decide"
    );
    // A policy over every action must hold for these too: `context.arguments.path` does
    // not exist for a resource read.
    let e = compiled(
        r#"permit(principal, action, resource) when { context.arguments.path like "/w/*" };"#,
        &catalog,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("read_resource"), "{e}");
}

#[test]
fn a_callers_entities_are_kept_per_id_verification_and_roles() {
    let catalog = catalog();
    let cedar = compiled(
        r#"permit(principal in Role::"writer", action == Action::"call:search", resource)
             when { principal.verified };"#,
        &catalog,
    )
    .unwrap();
    let decide = |roles: &[&str], verified: bool| {
        let mut caller = Caller::agent("same-id");
        caller.roles = roles.iter().map(|r| (*r).to_owned()).collect();
        caller.verified = verified;
        let mut c = ToolCall::new("search", json!({})).with_caller(caller);
        cedar.decide(&mut c, Some(&catalog), 0).is_ok()
    };
    // The same id, seen again with other roles or unverified, is decided as it is now.
    assert!(decide(&["writer"], true));
    assert!(!decide(&[], true));
    assert!(!decide(&["writer"], false));
    assert!(decide(&["writer"], true));
}

#[test]
fn a_tools_annotations_are_its_attributes() {
    let catalog = SharedCatalog::new(
        ToolCatalog::from_mcp_json(
            r#"{"tools": [
            {"name": "drop_table", "inputSchema": {"type": "object"},
             "annotations": {"destructiveHint": true, "title": "Drop"}},
            {"name": "select", "inputSchema": {"type": "object"},
             "annotations": {"readOnlyHint": true, "destructiveHint": false}},
            {"name": "plain", "inputSchema": {"type": "object"}}
        ]}"#,
        )
        .unwrap(),
    );
    let cedar = compiled(
        r#"permit(principal, action in Action::"call_tool", resource);
           @id("no-destruction") forbid(principal, action, resource is Tool)
             when { resource.annotations has destructiveHint && resource.annotations.destructiveHint };"#,
        &catalog,
    )
    .unwrap();
    let decide = |tool: &str| {
        let mut c = call(tool, Some("a"), json!({}));
        cedar.decide(&mut c, Some(&catalog), 0)
    };
    let e = decide("drop_table").unwrap_err();
    assert!(e.message.contains("no-destruction"), "{}", e.message);
    assert!(decide("select").is_ok());
    assert!(decide("plain").is_ok());
    // A policy reading a hint without `has` does not fit: hints are optional.
    let e = compiled(
        r#"forbid(principal, action, resource is Tool) when { resource.annotations.readOnlyHint };"#,
        &catalog,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("readOnlyHint"), "{e}");
}
