//! Seed 004 `list` and `stat`: the direct fields, every Query operator, keyword, sort, page, only,
//! minimal and count_only; the aggregate stages and distinct; and the answers that come from the
//! index and the counters agree with the ones computed from the users themselves.

use crate::common;

use common::{Reply, TestEnv, access_line};
use lambda::model::{Backend, User, UserState, UserType};
use lambda::store::prelude::*;
use serde_json::{Value, json};

/// The administrator plus six users: two disabled, an API user, an external user (PENDING), and one
/// deleted (which no list or stat may show).
async fn populated() -> TestEnv {
    let env = TestEnv::new().await;
    for (id, name) in [
        ("ann@example.com", "Ann Archer"),
        ("bob@example.com", "bob Baker"),
        ("cid@corp.example", "Cid Cooper"),
        ("dee@corp.example", "Dee Dunn"),
        ("gone@example.com", "Gone Gray"),
    ] {
        env.create_user(
            id,
            "User-Passw0rd",
            json!({"name": name, "email": id, "tags": {"team": if id.contains("corp") { "corp" } else { "home" }}}),
        )
        .await;
    }
    let api = env
        .spaceone(
            "create",
            &env.admin_token,
            json!({"user_id": "robot", "name": "Eve Engine", "user_type": "API_USER", "backend": "LOCAL", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(api.status, 200, "{}", api.raw);
    let mut external = User::new(
        &env.tenant,
        "fay@directory.example",
        UserType::User,
        Backend::External,
        lambda::ops::now(),
    );
    external.display_name = Some("Fay Field".into());
    external.state = UserState::Pending;
    env.app
        .store
        .create_user(&external, 50, &[], None)
        .await
        .unwrap();
    for (verb, id) in [
        ("disable", "bob@example.com"),
        ("disable", "dee@corp.example"),
        ("delete", "gone@example.com"),
    ] {
        let reply = env
            .spaceone(
                verb,
                &env.admin_token,
                json!({"user_id": id, "domain_id": env.tenant}),
            )
            .await;
        assert_eq!(reply.status, 200, "{verb} {id}: {}", reply.raw);
    }
    env
}

async fn list(env: &TestEnv, body: Value) -> Value {
    let mut body = body;
    body["domain_id"] = json!(env.tenant);
    let reply = env.spaceone("list", &env.admin_token, body).await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body
}

fn ids(answer: &Value) -> Vec<&str> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["user_id"].as_str().unwrap())
        .collect()
}

/// A condition that holds for every user but makes the query impossible to answer from an index,
/// so that the same question is answered the slow way.
fn always() -> Value {
    json!({"k": "user_id", "v": ".", "o": "regex"})
}

#[tokio::test]
async fn an_empty_query_lists_every_visible_user_by_name_with_the_total() {
    let env = populated().await;
    let answer = list(&env, json!({})).await;
    // Ordered by name, case-insensitively; the deleted user is gone; the administrator has no name.
    assert_eq!(
        ids(&answer),
        [
            "admin",
            "ann@example.com",
            "bob@example.com",
            "cid@corp.example",
            "dee@corp.example",
            "robot",
            "fay@directory.example"
        ]
    );
    assert_eq!(answer["total_count"], 7);
    let ann = &answer["results"][1];
    assert_eq!(ann["name"], "Ann Archer");
    assert_eq!(ann["state"], "ENABLED");
    assert_eq!(ann["tags"]["team"], "home");
    assert!(ann.get("password").is_none() && !answer.to_string().contains("argon2"));
}

#[tokio::test]
async fn direct_fields_are_equality_filters_and_lists_mean_any() {
    let env = populated().await;
    let cases = [
        (
            json!({"state": "DISABLED"}),
            vec!["bob@example.com", "dee@corp.example"],
        ),
        (json!({"user_type": "API_USER"}), vec!["robot"]),
        (
            json!({"backend": "EXTERNAL"}),
            vec!["fay@directory.example"],
        ),
        (json!({"state": "PENDING"}), vec!["fay@directory.example"]),
        (
            json!({"user_id": "cid@corp.example"}),
            vec!["cid@corp.example"],
        ),
        (
            json!({"user_id": ["robot", "ann@example.com", "nobody@example.com"]}),
            vec!["ann@example.com", "robot"],
        ),
        (
            json!({"email": "dee@corp.example"}),
            vec!["dee@corp.example"],
        ),
        (json!({"name": "Cid Cooper"}), vec!["cid@corp.example"]),
        // The deleted user is gone even when asked for by id, email or name.
        (json!({"user_id": "gone@example.com"}), vec![]),
        (json!({"email": "gone@example.com"}), vec![]),
        (json!({"name": "Gone Gray"}), vec![]),
        // Repeats, other spellings of one address, and ids no user can have match once or not at all.
        (
            json!({"user_id": ["robot", "robot", "x".repeat(2000)]}),
            vec!["robot"],
        ),
        (
            json!({"email": ["DEE@corp.example", "dee@CORP.example", format!("{}@corp.example", "y".repeat(2000))]}),
            vec![],
        ),
        (
            json!({"state": ["ENABLED", "PENDING"], "user_type": "USER"}),
            vec![
                "admin",
                "ann@example.com",
                "cid@corp.example",
                "fay@directory.example",
            ],
        ),
        (
            json!({"state": "ENABLED", "query": {"filter": [{"k": "tags.team", "v": "corp"}]}}),
            vec!["cid@corp.example"],
        ),
    ];
    for (body, expected) in cases {
        let answer = list(&env, body.clone()).await;
        assert_eq!(ids(&answer), expected, "{body}");
        assert_eq!(answer["total_count"], expected.len(), "{body}");
    }
}

#[tokio::test]
async fn every_query_operator_works_through_the_api() {
    let env = populated().await;
    let cases = [
        (json!({"k": "name", "v": "Cid Cooper", "o": "eq"}), 1),
        (json!({"k": "state", "v": "ENABLED", "o": "not"}), 3),
        // Text compares as text: "" and "Ann Archer" sort before "Bob", "bob Baker" after "Z".
        (json!({"k": "name", "v": "Bob", "o": "lt"}), 2),
        (json!({"k": "name", "v": "Cid Cooper", "o": "lte"}), 3),
        (json!({"k": "name", "v": "Dee", "o": "gt"}), 4),
        (json!({"k": "name", "v": "Dee Dunn", "o": "gte"}), 4),
        (
            json!({"k": "last_accessed_at", "v": true, "o": "exists"}),
            1,
        ),
        (json!({"k": "email", "v": "CORP", "o": "contain"}), 2),
        (json!({"k": "email", "v": "corp", "o": "not_contain"}), 5),
        (json!({"k": "user_type", "v": ["API_USER"], "o": "in"}), 1),
        (json!({"k": "state", "v": ["ENABLED"], "o": "not_in"}), 3),
        (
            json!({"k": "name", "v": ["archer", "ENGINE"], "o": "contain_in"}),
            2,
        ),
        (
            json!({"k": "name", "v": ["archer", "engine"], "o": "not_contain_in"}),
            5,
        ),
        (
            json!({"k": "user_id", "v": "^[a-c][a-z]+@", "o": "regex"}),
            3,
        ),
        (
            json!({"k": "created_at", "v": "2000-01-01", "o": "datetime_gt"}),
            7,
        ),
        (
            json!({"k": "created_at", "v": "2000-01-01T00:00:00Z", "o": "datetime_gte"}),
            7,
        ),
        (
            json!({"k": "created_at", "v": "2000-01-01", "o": "datetime_lt"}),
            0,
        ),
        (
            json!({"k": "created_at", "v": "2999-01-01", "o": "datetime_lte"}),
            7,
        ),
    ];
    for (condition, expected) in cases {
        let answer = list(&env, json!({"query": {"filter": [condition.clone()]}})).await;
        assert_eq!(answer["total_count"], expected, "{condition}: {answer}");
    }
    let either = list(
        &env,
        json!({"query": {"filter_or": [{"k": "user_id", "v": "robot"}, {"k": "state", "v": "PENDING"}]}}),
    )
    .await;
    assert_eq!(ids(&either), ["robot", "fay@directory.example"]);
    let keyword = list(
        &env,
        json!({"query": {"keyword": "nobody ENGINE corp.example"}}),
    )
    .await;
    assert_eq!(
        ids(&keyword),
        ["cid@corp.example", "dee@corp.example", "robot"]
    );
}

#[tokio::test]
async fn sort_page_only_minimal_and_count_only_shape_the_answer() {
    let env = populated().await;
    let sorted = list(
        &env,
        json!({"query": {"sort": {"key": "user_id", "desc": true}, "page": {"start": 2, "limit": 2}}}),
    )
    .await;
    assert_eq!(ids(&sorted), ["fay@directory.example", "dee@corp.example"]);
    assert_eq!(sorted["total_count"], 7);

    let only = list(
        &env,
        json!({"user_id": "robot", "query": {"only": ["user_id", "user_type"]}}),
    )
    .await;
    assert_eq!(
        only["results"],
        json!([{"user_id": "robot", "user_type": "API_USER"}])
    );
    let minimal = list(
        &env,
        json!({"user_id": "robot", "query": {"minimal": true}}),
    )
    .await;
    assert_eq!(
        minimal["results"],
        json!([{"user_id": "robot", "name": "Eve Engine", "state": "ENABLED", "user_type": "API_USER"}])
    );
    let counted = list(
        &env,
        json!({"state": "DISABLED", "query": {"count_only": true}}),
    )
    .await;
    assert_eq!(counted, json!({"results": [], "total_count": 2}));
    let past_the_end = list(&env, json!({"query": {"page": {"start": 50, "limit": 5}}})).await;
    assert_eq!(past_the_end, json!({"results": [], "total_count": 7}));
}

#[tokio::test]
async fn index_pages_and_counters_agree_with_reading_every_user() {
    let env = populated().await;
    for (direct, sort, page) in [
        (
            json!({}),
            json!({"key": "name"}),
            json!({"start": 1, "limit": 3}),
        ),
        (
            json!({}),
            json!({"key": "name", "desc": true}),
            json!({"start": 3, "limit": 2}),
        ),
        (
            json!({"state": "DISABLED"}),
            json!([]),
            json!({"start": 2, "limit": 1}),
        ),
        (
            json!({"state": ["ENABLED", "PENDING"]}),
            json!({"key": "name", "desc": true}),
            json!({"start": 1, "limit": 10}),
        ),
        (
            json!({"user_type": "USER", "backend": "LOCAL"}),
            json!([]),
            json!({"start": 1, "limit": 4}),
        ),
    ] {
        let mut fast = direct.clone();
        fast["query"] = json!({"sort": sort, "page": page});
        let mut slow = direct.clone();
        slow["query"] = json!({"sort": sort, "page": page, "filter": [always()]});
        let fast_answer = list(&env, fast.clone()).await;
        let slow_answer = list(&env, slow).await;
        assert_eq!(fast_answer, slow_answer, "{fast}");
    }
}

async fn stat(env: &TestEnv, query: Value) -> (u16, Value) {
    let reply = env
        .spaceone(
            "stat",
            &env.admin_token,
            json!({"query": query, "domain_id": env.tenant}),
        )
        .await;
    (reply.status, reply.body)
}

fn count_by_state() -> Value {
    json!({"group": {"keys": [{"key": "state", "name": "state"}], "fields": [{"name": "count", "operator": "count"}]}})
}

#[tokio::test]
async fn stat_groups_counts_and_distinct_values() {
    let env = populated().await;
    let (status, by_state) = stat(&env, json!({"aggregate": [count_by_state()]})).await;
    assert_eq!(status, 200, "{by_state}");
    assert_eq!(
        by_state,
        json!({"results": [
            {"state": "DISABLED", "count": 2},
            {"state": "ENABLED", "count": 4},
            {"state": "PENDING", "count": 1}
        ]})
    );
    // The same question answered from the users themselves (the counters are not used then).
    let (_, recounted) = stat(
        &env,
        json!({"filter": [always()], "aggregate": [count_by_state()]}),
    )
    .await;
    assert_eq!(recounted, by_state);

    let (_, sorted) = stat(
        &env,
        json!({"filter": [{"k": "user_type", "v": "USER"}], "aggregate": [count_by_state(), {"sort": {"key": "count", "desc": true}}, {"limit": 1}]}),
    )
    .await;
    assert_eq!(
        sorted,
        json!({"results": [{"state": "ENABLED", "count": 3}]})
    );

    let (_, teams) = stat(
        &env,
        json!({"aggregate": [
            {"group": {"keys": [{"key": "tags.team", "name": "team"}],
                       "fields": [{"name": "users", "operator": "count"}, {"key": "user_id", "name": "ids", "operator": "add_to_set"}]}},
            {"skip": 1}
        ]}),
    )
    .await;
    assert_eq!(
        teams,
        json!({"results": [
            {"team": "corp", "users": 2, "ids": ["cid@corp.example", "dee@corp.example"]},
            {"team": "home", "users": 2, "ids": ["ann@example.com", "bob@example.com"]}
        ]}),
        "the first group (no team) is skipped"
    );

    let (_, counted) = stat(&env, json!({"filter": [{"k": "state", "v": "DISABLED"}], "aggregate": [{"count": {"name": "disabled"}}]})).await;
    assert_eq!(counted, json!({"results": [{"disabled": 2}]}));

    let (_, distinct) = stat(
        &env,
        json!({"distinct": "state", "page": {"start": 1, "limit": 2}}),
    )
    .await;
    assert_eq!(
        distinct,
        json!({"results": ["DISABLED", "ENABLED"], "total_count": 3})
    );
    let (_, domains) = stat(
        &env,
        json!({"distinct": "email", "filter": [{"k": "email", "v": "corp", "o": "contain"}]}),
    )
    .await;
    assert_eq!(
        domains,
        json!({"results": ["cid@corp.example", "dee@corp.example"]})
    );
}

#[tokio::test]
async fn bad_queries_are_clear_400s() {
    let env = populated().await;
    for (body, code) in [
        (
            json!({"query": {"filter": [{"k": "name", "v": ["a"], "o": "eq"}]}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"filter": [{"k": "name", "v": "a", "o": "in"}]}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"filter": [{"k": "name", "v": "a", "o": "$where"}]}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"filter": [{"k": "name", "v": "(", "o": "regex"}]}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"filter": [{"v": "a"}]}}),
            "ERROR_REQUIRED_PARAMETER",
        ),
        (
            json!({"query": {"filter": "name=a"}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"page": {"start": 0}}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"page": {"limit": -1}}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"page": {"limit": 100000000}}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"query": {"sort": {"desc": true}}}),
            "ERROR_REQUIRED_PARAMETER",
        ),
        (
            json!({"query": {"everything": true}}),
            "ERROR_INVALID_PARAMETER",
        ),
        (json!({"user_type": "ROBOT"}), "ERROR_INVALID_PARAMETER"),
        (json!({"state": 3}), "ERROR_INVALID_PARAMETER"),
        (json!({"domain": "x"}), "ERROR_INVALID_PARAMETER"),
    ] {
        let mut request = body.clone();
        request["domain_id"] = json!(env.tenant);
        let reply = env.spaceone("list", &env.admin_token, request).await;
        assert_eq!(reply.expect_error(400), code, "{body}");
    }
    // No `domain_id` (or an empty one, which SpaceONE drops) is the token's tenant.
    for body in [json!({}), json!({"domain_id": ""})] {
        let no_domain = env.spaceone("list", &env.admin_token, body).await;
        assert_eq!(no_domain.status, 200, "{}", no_domain.raw);
        assert_eq!(no_domain.body["total_count"], 7);
    }

    for (query, code) in [
        (json!({"filter": []}), "ERROR_REQUIRED_PARAMETER"),
        (
            json!({"aggregate": [{"group": {}}]}),
            "ERROR_REQUIRED_PARAMETER",
        ),
        (
            json!({"aggregate": [{"lookup": {}}]}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"aggregate": [{"group": {"keys": [{"key": "state"}], "fields": [{"name": "x", "operator": "median"}]}}]}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"aggregate": [{"limit": -1}]}),
            "ERROR_INVALID_PARAMETER",
        ),
        (
            json!({"aggregate": [{"sort": {"key": "a"}, "limit": 1}]}),
            "ERROR_INVALID_PARAMETER",
        ),
    ] {
        let (status, body) = stat(&env, query.clone()).await;
        assert_eq!(
            (status, body["error_code"].as_str().unwrap_or_default()),
            (400, code),
            "{query}: {body}"
        );
    }
    let missing = env
        .spaceone("stat", &env.admin_token, json!({"domain_id": env.tenant}))
        .await;
    assert_eq!(missing.expect_error(400), "ERROR_REQUIRED_PARAMETER");
}

#[tokio::test]
async fn only_an_administrator_of_the_tenant_lists_and_counts() {
    let env = populated().await;
    let member = env.login("ann@example.com", "User-Passw0rd").await;
    let other = TestEnv::new().await;
    for verb in ["list", "stat"] {
        let body = json!({"query": {"aggregate": [count_by_state()]}, "domain_id": env.tenant});
        let body = if verb == "list" {
            json!({"domain_id": env.tenant})
        } else {
            body
        };
        let nobody = env
            .request(
                "POST",
                &format!("/identity/v1/user/{verb}"),
                &[],
                body.to_string(),
            )
            .await;
        assert_eq!(nobody.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");
        let reply = env.spaceone(verb, &member, body.clone()).await;
        assert_eq!(reply.expect_error(403), "ERROR_PERMISSION_DENIED", "{verb}");
        let reply = other.spaceone(verb, &other.admin_token, body.clone()).await;
        assert_eq!(reply.expect_error(403), "ERROR_PERMISSION_DENIED", "{verb}");
    }
    // The administrator's own login shows up as last_accessed_at.
    let admin = list(&env, json!({"user_id": "admin"})).await;
    assert!(admin["results"][0]["last_accessed_at"].is_string());
}

/// `stat` by facets reads the administrator's record with the tenant's counters, one round trip
/// every time; a revocation written through any instance is refused at the very next call here.
#[tokio::test]
async fn an_administrators_stat_is_one_read_and_a_revocation_anywhere_ends_it_at_once() {
    let env = TestEnv::new().await;
    let elsewhere = env.another_instance().await;
    let deputy = env
        .create_admin("deputy@example.com", "Deputy-Passw0rd", json!({}))
        .await;
    let body = json!({"query": {"aggregate": [count_by_state()]}, "domain_id": env.tenant});
    let store_calls = |reply: &Reply| {
        access_line(reply.request_id.as_deref().unwrap())["store_calls"]
            .as_u64()
            .unwrap()
    };

    let first = env.spaceone("stat", &deputy, body.clone()).await;
    assert_eq!(first.status, 200, "{}", first.raw);
    assert_eq!(
        store_calls(&first),
        1,
        "the caller's record with the counters"
    );
    let again = env.spaceone("stat", &deputy, body.clone()).await;
    assert_eq!(again.status, 200, "{}", again.raw);
    assert_eq!(store_calls(&again), 1, "the same read again");
    assert_eq!(again.body, first.body);
    let listed = env
        .spaceone("list", &deputy, json!({"domain_id": env.tenant}))
        .await;
    assert_eq!(listed.status, 200, "{}", listed.raw);
    assert_eq!(
        store_calls(&listed),
        2,
        "the caller's record with the counters, beside the page's query"
    );

    // Changes of other users are counted at the next call.
    env.create_user("ann@example.com", "User-Passw0rd", json!({}))
        .await;
    env.change_user("ann@example.com", |u| u.token_version += 1)
        .await;
    let counted = env.spaceone("stat", &deputy, body.clone()).await;
    assert_eq!(counted.status, 200, "{}", counted.raw);
    assert_eq!(store_calls(&counted), 1);
    assert_ne!(counted.body, first.body, "ann is counted");

    // The deputy is disabled through the other instance: refused here at the very next call.
    let disabled = elsewhere
        .spaceone(
            "disable",
            &env.admin_token,
            json!({"user_id": "deputy@example.com", "domain_id": env.tenant}),
        )
        .await;
    assert_eq!(disabled.status, 200, "{}", disabled.raw);
    let refused = env.spaceone("stat", &deputy, body.clone()).await;
    assert_eq!(refused.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");
    assert_eq!(
        store_calls(&refused),
        1,
        "the caller's record with the counters"
    );
    let refused = env
        .spaceone("list", &deputy, json!({"domain_id": env.tenant}))
        .await;
    assert_eq!(refused.expect_error(401), "ERROR_AUTHENTICATE_FAILURE");
}

/// Issue 30, finding 4: one `list` with 1,200 `regex` conditions took about a second of CPU, and a
/// `name` list of 100 values ran 100 queries one after another.
#[tokio::test]
async fn conditions_are_bounded_and_a_long_name_list_answers_each_name_once() {
    let env = populated().await;
    let heavy = json!({"k": "user_id", "v": ".{0,1000}", "o": "regex"});
    for key in ["filter", "filter_or"] {
        let at_limit = list(&env, json!({"query": {key: vec![heavy.clone(); 64]}})).await;
        assert_eq!(at_limit["total_count"], 7, "{key}");
        for verb in ["list", "stat"] {
            let mut query = json!({key: vec![heavy.clone(); 65]});
            if verb == "stat" {
                query["aggregate"] = json!([{"count": {"name": "total"}}]);
            }
            let over = env
                .spaceone(
                    verb,
                    &env.admin_token,
                    json!({"domain_id": env.tenant, "query": query}),
                )
                .await;
            assert_eq!(
                over.expect_error(400),
                "ERROR_INVALID_PARAMETER",
                "{verb} {key}"
            );
            assert!(
                over.body["error_msg"]
                    .as_str()
                    .unwrap()
                    .contains(&format!("query.{key}, reason = at most 64 conditions")),
                "{}",
                over.raw
            );
        }
    }
    let mut names = vec![
        json!("Ann Archer"),
        json!("ann ARCHER"),
        json!("Cid Cooper"),
    ];
    names.extend((0..97).map(|i| json!(format!("Nobody {i}"))));
    let reply = env
        .spaceone(
            "list",
            &env.admin_token,
            json!({"domain_id": env.tenant, "name": names}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(ids(&reply.body), ["ann@example.com", "cid@corp.example"]);
    assert_eq!(reply.body["total_count"], 2);
}

/// Issue 31, item 6: the proto's `AggregateGroupKey` and `AggregateGroupField` also name their
/// fields `k`, `n` and `o`, which SpaceONE's core reads; they were unknown fields here.
#[tokio::test]
async fn stat_groups_take_the_short_names_too() {
    let env = populated().await;
    let long = json!({"aggregate": [count_by_state(), {"sort": {"key": "state"}}]});
    let short = json!({"aggregate": [
        {"group": {"keys": [{"k": "state", "n": "state"}], "fields": [{"n": "count", "o": "count"}]}},
        {"sort": {"key": "state"}}]});
    let (status, by_long) = stat(&env, long).await;
    assert_eq!(status, 200, "{by_long}");
    let (status, by_short) = stat(&env, short).await;
    assert_eq!(status, 200, "{by_short}");
    assert_eq!(by_short, by_long);
    let (status, ids) = stat(
        &env,
        json!({"aggregate": [{"group": {"keys": [{"k": "state"}],
            "fields": [{"k": "user_id", "n": "ids", "o": "add_to_set"}]}}]}),
    )
    .await;
    assert_eq!(status, 200, "{ids}");
    assert!(ids.to_string().contains("ann@example.com"), "{ids}");
}

/// Issue 35, item 5: SpaceONE's `regex` ignores case; `regex_in`, `match` and `timediff_*` select
/// as python-core 1.12's `mongo_model` does, evaluated on the rows the plan reads.
#[tokio::test]
async fn regex_ignores_case_and_regex_in_match_and_timediff_select() {
    let env = populated().await;
    let count = |condition: Value| {
        let env = &env;
        async move {
            list(env, json!({"query": {"filter": [condition]}})).await["total_count"]
                .as_u64()
                .unwrap()
        }
    };
    assert_eq!(
        count(json!({"k": "user_id", "v": "^ANN@", "o": "regex"})).await,
        1
    );
    assert_eq!(
        count(json!({"k": "name", "v": "^b", "o": "regex"})).await,
        1,
        "bob Baker"
    );
    assert_eq!(
        count(json!({"k": "user_id", "v": ["^ANN@", "CORP\\.example$"], "o": "regex_in"})).await,
        3
    );
    // `match` is `$elemMatch` on a list: the same users as `eq` on the list's elements.
    let needing = count(json!({"k": "required_actions", "v": "UPDATE_PASSWORD", "o": "eq"})).await;
    assert_eq!(
        count(json!({"k": "required_actions", "v": {"$eq": "UPDATE_PASSWORD"}, "o": "match"}))
            .await,
        needing
    );
    assert_eq!(
        count(
            json!({"k": "required_actions", "v": {"$in": ["UPDATE_PASSWORD", "X"]}, "o": "match"})
        )
        .await,
        needing
    );
    assert_eq!(
        count(json!({"k": "name", "v": {"$eq": "Ann Archer"}, "o": "match"})).await,
        0,
        "not a list"
    );
    for (condition, expected) in [
        (
            json!({"k": "created_at", "v": "now/d - 1d", "o": "timediff_gt"}),
            7,
        ),
        (
            json!({"k": "created_at", "v": "now-1h", "o": "timediff_lt"}),
            0,
        ),
        (
            json!({"k": "created_at", "v": " now + 1m", "o": "timediff_lte"}),
            7,
        ),
        (
            json!({"k": "created_at", "v": "now/m", "o": "timediff_gte"}),
            7,
        ),
        (
            json!({"k": "last_accessed_at", "v": "now/w - 1w", "o": "timediff_gt"}),
            1,
        ),
    ] {
        assert_eq!(count(condition.clone()).await, expected, "{condition}");
    }
    // A keyed plan (the direct `user_id`) evaluates them on its rows too.
    let keyed = list(
        &env,
        json!({"user_id": ["ann@example.com", "bob@example.com"],
               "query": {"filter": [{"k": "name", "v": ["^ANN"], "o": "regex_in"}]}}),
    )
    .await;
    assert_eq!(ids(&keyed), ["ann@example.com"]);
    for (condition, reason) in [
        (
            json!({"k": "created_at", "v": "7 days ago", "o": "timediff_gt"}),
            "time difference",
        ),
        (
            json!({"k": "name", "v": [], "o": "regex_in"}),
            "regular expressions",
        ),
        (
            json!({"k": "required_actions", "v": "x", "o": "match"}),
            "$elemMatch",
        ),
        (
            json!({"k": "required_actions", "v": {"$where": "1"}, "o": "match"}),
            "$eq",
        ),
    ] {
        let reply = env
            .spaceone(
                "list",
                &env.admin_token,
                json!({"domain_id": env.tenant, "query": {"filter": [condition.clone()]}}),
            )
            .await;
        assert_eq!(
            reply.expect_error(400),
            "ERROR_INVALID_PARAMETER",
            "{condition}"
        );
        assert!(reply.raw.contains(reason), "{condition}: {}", reply.raw);
    }
}

/// Issue 35, item 5: `date_format`, push sub-`fields`, group `conditions`, `unwind`, `project`,
/// and `count` over nothing.
#[tokio::test]
async fn stat_takes_date_format_sub_fields_conditions_unwind_and_project() {
    use chrono::Datelike;
    let env = populated().await;
    let year = chrono::Utc::now().year();
    let (status, by_year) = stat(
        &env,
        json!({"aggregate": [{"group": {
            "keys": [{"key": "created_at", "name": "year", "date_format": "year"},
                     {"key": "created_at", "name": "day", "date_format": "%Y"}],
            "fields": [{"name": "users", "operator": "count"},
                       {"name": "humans", "operator": "count",
                        "conditions": [{"key": "user_type", "value": "USER", "operator": "eq"}]},
                       {"name": "enabled_humans", "operator": "count",
                        "conditions": [{"k": "user_type", "v": "USER", "o": "eq"},
                                       {"k": "state", "v": "ENABLED", "o": "eq"}]}]}}]}),
    )
    .await;
    assert_eq!(status, 200, "{by_year}");
    assert_eq!(
        by_year,
        json!({"results": [{"year": year, "day": year.to_string(), "users": 7, "humans": 6, "enabled_humans": 3}]})
    );
    let (status, pushed) = stat(
        &env,
        json!({"filter": [{"k": "state", "v": "DISABLED"}], "aggregate": [
            {"group": {"keys": [{"key": "state", "name": "state"}],
                       "fields": [{"name": "who", "operator": "push",
                                   "fields": [{"key": "user_id", "name": "id"}, {"k": "tags.team", "n": "team"}]}]}},
            {"unwind": {"path": "who"}},
            {"sort": {"key": "who.id"}},
            {"project": {"fields": [{"key": "who.id", "name": "id"}, {"key": "who.team", "name": "team"}]}}]}),
    )
    .await;
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(
        pushed,
        json!({"results": [
            {"state": "DISABLED", "id": "bob@example.com", "team": "home"},
            {"state": "DISABLED", "id": "dee@corp.example", "team": "corp"}]})
    );
    let (status, sized) = stat(
        &env,
        json!({"aggregate": [
            {"group": {"keys": [{"key": "user_type", "name": "type"}],
                       "fields": [{"key": "user_id", "name": "ids", "operator": "push"}]}},
            {"project": {"exclude_keys": true, "fields": [
                {"key": "ids", "name": "n", "operator": "size"},
                {"name": "double", "operator": "multiply", "fields": [{"o": "size", "f": ["ids"]}, 2]}]}}]}),
    )
    .await;
    assert_eq!(status, 400, "size is no calculation: {sized}");
    let (status, sized) = stat(
        &env,
        json!({"aggregate": [
            {"group": {"keys": [{"key": "user_type", "name": "type"}],
                       "fields": [{"key": "user_id", "name": "ids", "operator": "push"},
                                  {"name": "n", "operator": "count"}]}},
            {"sort": {"key": "type"}},
            {"project": {"exclude_keys": true, "fields": [
                {"key": "ids", "name": "size", "operator": "size"},
                {"name": "double", "operator": "multiply", "fields": ["n", 2]}]}}]}),
    )
    .await;
    assert_eq!(status, 200, "{sized}");
    assert_eq!(
        sized,
        json!({"results": [{"size": 1, "double": 2}, {"size": 6, "double": 12}]})
    );
    // Unwinding the required actions: a row per action, users without one go.
    let (status, actions) = stat(
        &env,
        json!({"aggregate": [{"unwind": {"path": "required_actions"}}, {"count": {"name": "n"}}]}),
    )
    .await;
    assert_eq!(status, 200, "{actions}");
    let needing = list(
        &env,
        json!({"query": {"filter": [{"k": "required_actions", "v": "UPDATE_PASSWORD"}]}}),
    )
    .await["total_count"]
        .clone();
    if needing == 0 {
        assert_eq!(actions, json!({"results": []}));
    } else {
        assert_eq!(actions, json!({"results": [{"n": needing}]}));
    }
    // `count` over no rows is no row, from the counters and from the users alike.
    for filter in [
        json!([{"k": "state", "v": "PENDING"}, {"k": "user_type", "v": "API_USER"}]),
        json!([{"k": "state", "v": "PENDING"}, {"k": "user_type", "v": "API_USER"}, always()]),
    ] {
        let (status, none) = stat(
            &env,
            json!({"filter": filter, "aggregate": [{"count": {"name": "total"}}]}),
        )
        .await;
        assert_eq!(status, 200, "{none}");
        assert_eq!(none, json!({"results": []}), "{filter}");
    }
    // A group with conditions or a date format is never answered from the counters.
    let (_, fast) = stat(&env, json!({"aggregate": [count_by_state()]})).await;
    let (_, conditional) = stat(
        &env,
        json!({"aggregate": [{"group": {"keys": [{"key": "state", "name": "state"}],
            "fields": [{"name": "count", "operator": "count",
                        "conditions": [{"k": "user_type", "v": "USER", "o": "eq"}]}]}}]}),
    )
    .await;
    assert_ne!(fast, conditional, "the API user is not counted");
    assert_eq!(
        conditional["results"][1],
        json!({"state": "ENABLED", "count": 3})
    );
}
