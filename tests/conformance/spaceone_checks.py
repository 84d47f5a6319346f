"""spaceone-api (one release per run: 1.12.x or 2.0.x, each in its own virtualenv) against the local
server: every identity v1 User method the server routes, each request built from the release's own
protobuf message and rendered as a protobuf JSON client renders it
(`MessageToDict(msg, preserving_proto_field_name=True)`), posted to the path of the method's own
`google.api.http` annotation, and each answer parsed strictly into the method's response message
(`ParseDict(body, Response(), ignore_unknown_fields=False)`): a field the message does not declare,
a value of another type or an enum value it does not define fails."""

import json
import os
import time
from importlib import metadata

from google.api import annotations_pb2
from google.protobuf import empty_pb2, json_format, struct_pb2
from google.protobuf.message import Message
from spaceone.api.core.v1 import query_pb2 as q
from spaceone.api.identity.v1 import user_pb2 as u

from common import (PASSWORD, PASSWORD2, RUN, TENANT, CheckFailed, Suite, admin_token, code_in, create_user,
                    excerpt, expect, http, login, mail_for)

RELEASE = metadata.version("spaceone-api")
suite = Suite(f"spaceone-api {RELEASE}")
SERVICE = u.DESCRIPTOR.services_by_name["User"]
# The methods the server routes (README); a release's others (2.x: enable_mfa, disable_mfa,
# confirm_mfa) are listed, not called.
SERVED = ["create", "get", "update", "verify_email", "confirm_email", "reset_password", "set_required_actions",
          "enable", "disable", "delete", "list", "stat", "find", "sync"]
RESPONSES = {"UserInfo": u.UserInfo, "UsersInfo": u.UsersInfo, "FindUsersInfo": u.FindUsersInfo,
             "Empty": empty_pb2.Empty, "Struct": struct_pb2.Struct}
DIRECTORY = os.environ.get("CONFORMANCE_DIRECTORY_FILE")
# This release's users: the two releases' runs share the tenant.
TAG = RELEASE.replace(".", "")


def uid(label):
    value = f"so{TAG}-{label}-{RUN}@conf.example"
    assert len(value) <= 40, value
    return value


def route(method):
    rule = SERVICE.methods_by_name[method].GetOptions().Extensions[annotations_pb2.http]
    return rule.post


def call(method, request, token=None):
    """POSTs the request message; returns (status, JSON body, parsed response message or None)."""
    expect(isinstance(request, Message), "this suite builds every request from a message")
    descriptor = SERVICE.methods_by_name[method]
    expect(request.DESCRIPTOR is descriptor.input_type,
           f"{method} takes {descriptor.input_type.name}, not {request.DESCRIPTOR.name}")
    body = json_format.MessageToDict(request, preserving_proto_field_name=True)
    answer = http("POST", route(method), body, token or admin_token())
    if answer.status != 200:
        return answer.status, answer.json, None, answer
    if answer.json is None:
        raise CheckFailed(f"{method}: 200 with a body that is not JSON: {answer!r}")
    response = RESPONSES[descriptor.output_type.name]()
    try:
        json_format.ParseDict(answer.json, response, ignore_unknown_fields=False)
    except json_format.ParseError as e:
        raise CheckFailed(f"{descriptor.output_type.name} cannot parse the answer: {e}; body {excerpt(answer.json)}")
    return answer.status, answer.json, response, answer


def ok(method, request, token=None):
    status, body, response, answer = call(method, request, token)
    expect(status == 200, f"{route(method)} answered {answer!r}")
    return response


def refused(method, request, status, code):
    got, body, _, answer = call(method, request)
    expect(got == status and isinstance(body, dict) and body.get("error_code") == code,
           f"{route(method)} answered {answer!r}, expected {status} {code}")


def struct(value):
    s = struct_pb2.Struct()
    s.update(value)
    return s


def enum_name(message, field):
    return message.DESCRIPTOR.fields_by_name[field].enum_type.values_by_number[getattr(message, field)].name


def directory(users):
    """Replaces this release's users in the server's external directory (re-read on every request)."""
    expect(DIRECTORY, "setup: CONFORMANCE_DIRECTORY_FILE is not set")
    with open(DIRECTORY, encoding="utf-8") as f:
        data = json.load(f)
    data["users"] = [x for x in data["users"] if not x["user_id"].startswith(f"so{TAG}-")] + users
    with open(DIRECTORY + ".tmp", "w", encoding="utf-8") as f:
        json.dump(data, f)
    os.replace(DIRECTORY + ".tmp", DIRECTORY)


def main():
    print(f"# spaceone-api {RELEASE}: User methods {', '.join(m.name for m in SERVICE.methods)}; "
          f"not served here: {', '.join(m.name for m in SERVICE.methods if m.name not in SERVED) or 'none'}",
          flush=True)
    alice, bob, carol, ext = uid("alice"), uid("bob"), uid("carol"), uid("ext")
    team = f"team-{TAG}-{RUN}"

    def create_full():
        r = ok("create", u.CreateUserRequest(
            user_id=alice, password=PASSWORD, name="Alice SpaceONE", email=alice,
            user_type=u.UserType.Value("USER"), backend=u.UserBackend.Value("LOCAL"), language="en",
            timezone="Asia/Seoul", tags=struct({"team": team, "level": 3}), domain_id=TENANT))
        expect(r.user_id == alice and r.name == "Alice SpaceONE" and r.email == alice, f"UserInfo {r}")
        expect((enum_name(r, "state"), enum_name(r, "backend"), enum_name(r, "user_type")) ==
               ("ENABLED", "LOCAL", "USER"), f"state/backend/user_type {r.state}/{r.backend}/{r.user_type}")
        expect(json_format.MessageToDict(r.tags) == {"team": team, "level": 3}, f"tags {r.tags}")
        expect(r.domain_id == TENANT and r.created_at and r.timezone == "Asia/Seoul", f"UserInfo {r}")
    suite.check("create (every field, tags as Struct)", create_full)

    def create_without_backend():
        r = ok("create", u.CreateUserRequest(user_id=bob, password=PASSWORD, name="Bob SpaceONE", email=bob,
                                             domain_id=TENANT))
        expect(enum_name(r, "backend") == "LOCAL", f"backend {enum_name(r, 'backend')}")
    suite.check("create without backend (an unset enum is omitted): LOCAL", create_without_backend)
    # carol exists whatever the check above did.
    suite.check("setup: a third user", lambda: create_user(carol, email=carol, name="Carol SpaceONE"))

    suite.check("create an existing user_id: 409 ERROR_SAVE_UNIQUE_VALUES", refused, "create",
                u.CreateUserRequest(user_id=carol, password=PASSWORD, name="Again", backend=u.UserBackend.Value("LOCAL"),
                                    domain_id=TENANT), 409, "ERROR_SAVE_UNIQUE_VALUES")

    def get():
        r = ok("get", u.GetUserRequest(user_id=alice, domain_id=TENANT))
        expect(r.user_id == alice and enum_name(r, "state") == "ENABLED", f"UserInfo {r}")
        r = ok("get", u.GetUserRequest(user_id=alice, domain_id=TENANT, only=["user_id", "name"]))
        expect(r.user_id == alice and r.name == "Alice SpaceONE", f"UserInfo {r}")
    suite.check("get (and get with only)", get)
    suite.check("get an unknown user: 404 ERROR_NOT_FOUND", refused, "get",
                u.GetUserRequest(user_id=uid("nobody"), domain_id=TENANT), 404, "ERROR_NOT_FOUND")

    def update():
        r = ok("update", u.UpdateUserRequest(user_id=alice, name="Alice Updated", language="ko",
                                             timezone="UTC", tags=struct({"team": team, "role": "dev"}),
                                             password=PASSWORD2, domain_id=TENANT))
        expect(r.name == "Alice Updated" and r.language == "ko" and r.timezone == "UTC", f"UserInfo {r}")
        expect(json_format.MessageToDict(r.tags) == {"team": team, "role": "dev"}, f"tags {r.tags}")
    suite.check("update (name, language, timezone, tags, password)", update)

    def seed_example_update():
        # The seed page's own example request, tags as a list of {key, value} (not something a
        # protobuf client can send: the field is a Struct); the answer still parses into UserInfo.
        answer = http("POST", route("update"), {"user_id": carol, "tags": [
            {"key": "user1", "value": "Reuters"}, {"key": "user2", "value": "Bloomberg"}],
            "domain_id": TENANT}, admin_token())
        expect(answer.status == 200, f"answered {answer!r}")
        r = json_format.ParseDict(answer.json, u.UserInfo(), ignore_unknown_fields=False)
        expect(json_format.MessageToDict(r.tags) == {"user1": "Reuters", "user2": "Bloomberg"}, f"tags {r.tags}")
    suite.check("the seed's example update (tags as a list of key/value)", seed_example_update)

    def without_domain_id():
        # SpaceONE's mutation handler fills domain_id from the token; spacectl leaves it out.
        r = ok("get", u.GetUserRequest(user_id=carol))
        expect(r.user_id == carol and r.domain_id == TENANT, f"UserInfo {r}")
        r = ok("list", u.UserQuery(user_id=carol))
        expect([x.user_id for x in r.results] == [carol], f"UsersInfo {r}")
    suite.check("get and list without domain_id: the token's domain", without_domain_id)

    def member_reads_themself():
        token = login(carol, PASSWORD)
        r = ok("get", u.GetUserRequest(user_id=carol, domain_id=TENANT), token)
        expect(r.user_id == carol, f"UserInfo {r}")
        status, body, _, answer = call("get", u.GetUserRequest(user_id=alice, domain_id=TENANT), token)
        expect(status == 403 and body.get("error_code") == "ERROR_PERMISSION_DENIED",
               f"another user's get answered {answer!r}")
    suite.check("a member gets their own user (and not another's: 403)", member_reads_themself)

    def empty_tags_clear():
        request = u.UpdateUserRequest(user_id=carol, domain_id=TENANT)
        request.tags.SetInParent()  # an explicit, empty Struct
        expect(json_format.MessageToDict(request, preserving_proto_field_name=True).get("tags") == {},
               "the client sends tags: {}")
        r = ok("update", request)
        expect(json_format.MessageToDict(r.tags) == {}, f"tags {r.tags}")
    suite.check("update with an empty tags Struct clears the tags", empty_tags_clear)

    def verify_and_confirm():
        since = time.time()
        ok("verify_email", u.VerifyEmailRequest(user_id=alice, email=alice, domain_id=TENANT))
        code = code_in(mail_for(alice, since))
        r = ok("confirm_email", u.ConfirmEmailRequest(user_id=alice, verify_code=code, domain_id=TENANT))
        expect(r.email_verified, f"email_verified {r.email_verified} after confirm_email")
    suite.check("verify_email, then confirm_email with the mailed code", verify_and_confirm)
    suite.check("confirm_email with a wrong code: ERROR_INVALID_VERIFY_CODE", refused, "confirm_email",
                u.ConfirmEmailRequest(user_id=bob, verify_code="000000", domain_id=TENANT), 400,
                "ERROR_INVALID_VERIFY_CODE")

    def reset_password():
        since = time.time()
        ok("reset_password", u.UserRequest(user_id=alice, domain_id=TENANT))
        mail_for(alice, since)
        r = ok("get", u.GetUserRequest(user_id=alice, domain_id=TENANT))
        expect([u.UserRequiredAction.Name(a) for a in r.required_actions] == ["UPDATE_PASSWORD"],
               f"required_actions {list(r.required_actions)}")
    suite.check("reset_password: {} and a mailed temporary password", reset_password)
    suite.check("reset_password without a verified email: ERROR_VERIFICATION_UNAVAILABLE", refused,
                "reset_password", u.UserRequest(user_id=carol, domain_id=TENANT), 400,
                "ERROR_VERIFICATION_UNAVAILABLE")

    def set_required_actions():
        r = ok("set_required_actions", u.SetRequiredActionsRequest(
            user_id=bob, actions=[u.UserRequiredAction.Value("UPDATE_PASSWORD")], domain_id=TENANT))
        expect([u.UserRequiredAction.Name(a) for a in r.required_actions] == ["UPDATE_PASSWORD"],
               f"required_actions {list(r.required_actions)}")
    suite.check("set_required_actions UPDATE_PASSWORD", set_required_actions)

    def disable_enable():
        r = ok("disable", u.UserRequest(user_id=carol, domain_id=TENANT))
        expect(enum_name(r, "state") == "DISABLED", f"state {enum_name(r, 'state')}")
        r = ok("enable", u.UserRequest(user_id=carol, domain_id=TENANT))
        expect(enum_name(r, "state") == "ENABLED", f"state {enum_name(r, 'state')}")
    suite.check("disable, then enable", disable_enable)

    def list_users(short):
        f = (q.Filter(k="tags.team", v=struct_pb2.Value(string_value=team), o="eq") if short
             else q.Filter(key="tags.team", value=struct_pb2.Value(string_value=team), operator="eq"))
        r = ok("list", u.UserQuery(query=q.Query(filter=[f], sort=q.Sort(key="user_id"),
                                                 page=q.Page(start=1, limit=10)),
                                   user_type=u.UserType.Value("USER"), domain_id=TENANT))
        expect(r.total_count == 1 and [x.user_id for x in r.results] == [alice],
               f"total_count {r.total_count}, results {[x.user_id for x in r.results]}")
        r = ok("list", u.UserQuery(query=q.Query(filter=[q.Filter(k="user_id", v=struct_pb2.Value(
            list_value=struct_pb2.ListValue(values=[struct_pb2.Value(string_value=x) for x in (alice, bob, carol)])),
            o="in")], count_only=True), domain_id=TENANT))
        expect(r.total_count == 3, f"total_count {r.total_count}, expected 3")
    suite.check("list (filter key/value/operator, sort, page, direct field)", list_users, False)
    suite.check("list (filter short names k/v/o, count_only)", list_users, True)

    def stat(short):
        if short:
            group = q.AggregateGroup(keys=[q.AggregateGroupKey(k="state", n="state")],
                                     fields=[q.AggregateGroupField(n="count", o="count")])
        else:
            group = q.AggregateGroup(keys=[q.AggregateGroupKey(key="state", name="state")],
                                     fields=[q.AggregateGroupField(name="count", operator="count")])
        r = ok("stat", u.UserStatQuery(query=q.StatisticsQuery(
            filter=[q.Filter(key="user_id", value=struct_pb2.Value(list_value=struct_pb2.ListValue(
                values=[struct_pb2.Value(string_value=x) for x in (alice, bob, carol)])), operator="in")],
            aggregate=[q.StatisticsAggregate(group=group)]), domain_id=TENANT))
        results = json_format.MessageToDict(r).get("results")
        expect(results == [{"state": "ENABLED", "count": 3}], f"results {excerpt(results)}")
    suite.check("stat (aggregate group, key/name/operator)", stat, False)
    suite.check("stat (aggregate group, short names k/n/o)", stat, True)

    def stat_distinct():
        r = ok("stat", u.UserStatQuery(query=q.StatisticsQuery(
            filter=[q.Filter(key="tags.team", value=struct_pb2.Value(string_value=team), operator="eq")],
            distinct="user_id"), domain_id=TENANT))
        expect(json_format.MessageToDict(r).get("results") == [alice], f"results {excerpt(json_format.MessageToDict(r))}")
    suite.check("stat (distinct)", stat_distinct)

    # Issue 35, item 5: the query dialect of python-core 1.12's mongo_model.
    def sv(value):
        v = struct_pb2.Value()
        if isinstance(value, dict):
            v.struct_value.update(value)
        elif isinstance(value, list):
            v.list_value.extend(value)
        else:
            v.string_value = value
        return v

    ours = q.Filter(k="user_id", v=sv([alice, bob, carol]), o="in")

    def listed(*filters):
        r = ok("list", u.UserQuery(query=q.Query(filter=list(filters), sort=q.Sort(key="user_id")),
                                   domain_id=TENANT))
        return [x.user_id for x in r.results]

    def regex_operators():
        got = listed(q.Filter(k="user_id", v=sv(f"^SO{TAG}-ALICE-{RUN}@".upper()), o="regex"))
        expect(got == [alice], f"regex ignores case: {got}")
        got = listed(q.Filter(k="user_id", v=sv([f"^SO{TAG}-ALICE-{RUN}@".upper(), f"^so{TAG}-BOB-{RUN}@"]),
                              o="regex_in"))
        expect(got == sorted([alice, bob]), f"regex_in: {got}")
    suite.check("list (regex is case-insensitive; regex_in)", regex_operators)

    def match_and_timediff():
        by_eq = listed(ours, q.Filter(k="required_actions", v=sv("UPDATE_PASSWORD"), o="eq"))
        by_match = listed(ours, q.Filter(k="required_actions", v=sv({"$eq": "UPDATE_PASSWORD"}), o="match"))
        expect(by_match == by_eq, f"match {by_match}, eq {by_eq}")
        got = listed(ours, q.Filter(k="created_at", v=sv("now/d - 1d"), o="timediff_gte"))
        expect(got == sorted([alice, bob, carol]), f"timediff_gte now/d - 1d: {got}")
        got = listed(ours, q.Filter(k="created_at", v=sv("now/d - 1d"), o="timediff_lt"))
        expect(got == [], f"timediff_lt now/d - 1d: {got}")
        refused("list", u.UserQuery(query=q.Query(filter=[q.Filter(k="created_at", v=sv("7 days ago"),
                                                                   o="timediff_gt")]), domain_id=TENANT),
                400, "ERROR_INVALID_PARAMETER")
    suite.check("list (match, timediff_*; a bad time difference 400)", match_and_timediff)

    def stat_item5():
        stages = [
            q.StatisticsAggregate(group=q.AggregateGroup(
                keys=[q.AggregateGroupKey(key="created_at", name="year", date_format="year")],
                fields=[q.AggregateGroupField(name="users", operator="count"),
                        q.AggregateGroupField(n="team", o="count", conditions=[
                            q.AggregateSubCondition(k="tags.team", v=sv(team), o="eq")]),
                        q.AggregateGroupField(name="who", operator="push", fields=[
                            q.AggregateGroupSubField(key="user_id", name="id")])])),
            q.StatisticsAggregate(unwind=q.AggregateUnwind(path="who")),
            q.StatisticsAggregate(sort=q.AggregateSort(key="who.id")),
            q.StatisticsAggregate(project=q.AggregateProject(exclude_keys=True, fields=[
                q.AggregateProjectField(key="who.id", name="id"),
                q.AggregateProjectField(key="team", name="team")])),
        ]
        r = ok("stat", u.UserStatQuery(query=q.StatisticsQuery(filter=[ours], aggregate=stages), domain_id=TENANT))
        results = json_format.MessageToDict(r).get("results")
        expect(results == [{"id": x, "team": 1} for x in sorted([alice, bob, carol])],
               f"results {excerpt(results)}")
        r = ok("stat", u.UserStatQuery(query=q.StatisticsQuery(
            filter=[q.Filter(k="user_id", v=sv(f"nobody-{RUN}"), o="eq")],
            aggregate=[q.StatisticsAggregate(count=q.AggregateCount(name="total"))]), domain_id=TENANT))
        expect(json_format.MessageToDict(r) == {"results": []}, f"count over nothing: {json_format.MessageToDict(r)}")
    suite.check("stat (date_format, conditions, push fields, unwind, project; count over nothing [])", stat_item5)

    external = {"user_id": ext, "name": "External SpaceONE", "email": ext, "state": "ENABLED", "tags": {"team": team}}

    def find():
        directory([external])
        r = ok("find", u.FindUserQuery(search=u.FindUserSearch(keyword=f"so{TAG}-ext-{RUN}"), domain_id=TENANT))
        expect([x.user_id for x in r.results] == [ext] and r.total_count == 1,
               f"total_count {r.total_count}, results {[x.user_id for x in r.results]}")
        expect(r.results[0].name == "External SpaceONE", f"FindUserInfo {r.results[0]}")
    suite.check(f"find (at its route {route('find')})", find)

    def create_external_and_sync():
        directory([external])
        r = ok("create", u.CreateUserRequest(user_id=ext, backend=u.UserBackend.Value("EXTERNAL"), domain_id=TENANT))
        expect(enum_name(r, "backend") == "EXTERNAL" and r.name == "External SpaceONE", f"UserInfo {r}")
        directory([dict(external, name="External Renamed", state="DISABLED")])
        r = ok("sync", u.UserRequest(user_id=ext, domain_id=TENANT))
        expect(r.name == "External Renamed" and enum_name(r, "state") == "DISABLED",
               f"name {r.name!r}, state {enum_name(r, 'state')} after sync")
    suite.check("create an EXTERNAL user, then sync it from the directory", create_external_and_sync)
    suite.check("sync of a LOCAL user: ERROR_INVALID_PARAMETER", refused, "sync",
                u.UserRequest(user_id=carol, domain_id=TENANT), 400, "ERROR_INVALID_PARAMETER")

    def delete():
        r = ok("delete", u.UserRequest(user_id=carol, domain_id=TENANT))
        expect(r == empty_pb2.Empty(), f"{r}")
        refused("get", u.GetUserRequest(user_id=carol, domain_id=TENANT), 404, "ERROR_NOT_FOUND")
    suite.check("delete: {}, then get 404", delete)

    suite.finish()


if __name__ == "__main__":
    main()
