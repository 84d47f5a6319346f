"""huaweicloudsdkiam + huaweicloudsdkworkspace (with huaweicloudsdkcore) against the local server:
the SDK's own clients with their endpoint set to the local server, AK/SK credentials as the SDK
requires them (it signs every request with them; the server does not read that signature), and a
request hook of the SDK's HttpHandler that adds the project's token as X-Auth-Token. Every answer
is deserialised by the SDK's models and also compared, field by field, with the model's
declaration (a field the model does not declare, or a value of another type, fails); every error
is read through the SDK's exception types."""

import json
import re
import time

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions import exceptions as sdk_exc
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.http.http_handler import HttpHandler
from huaweicloudsdkiam.v3 import IamClient
from huaweicloudsdkiam.v3 import model as iam
from huaweicloudsdkworkspace.v2 import WorkspaceClient
from huaweicloudsdkworkspace.v2 import model as ws

from common import (ADMIN, BASE, PASSWORD, PASSWORD2, RUN, TENANT, CheckFailed, Suite,
                    admin_token, create_user, excerpt, expect, http, login, mail_for, user_id)

suite = Suite("huaweicloudsdkiam+huaweicloudsdkworkspace")
# The SDK requires an access key pair; nothing on the server reads the signature it makes.
AK, SK = "CONFORMANCEACCESSKEY", "conformance-secret-key-not-used-by-the-server"
# Every SDK exception's request id, and every answer's X-Request-Id as the SDK's response hook
# sees it, for the check that each has one.
request_ids = []
answer_ids = []


class Token:
    """Whose token the hook sends (None: no X-Auth-Token, as for a login)."""
    value = None


def add_token(request, logger):
    if Token.value:
        request.header_params["X-Auth-Token"] = Token.value


def record_request_id(response, logger):
    answer_ids.append((f"{response.request.method} {response.status_code}", response.headers.get("X-Request-Id")))


def handler():
    return HttpHandler().add_request_handler(add_token).add_response_handler(record_request_id)


def config():
    c = HttpConfig.get_default_config()
    c.retry_times = 0  # a 429 is an answer to see, not to retry
    c.timeout = (10, 30)
    return c


def iam_client():
    return (IamClient.new_builder()
            .with_credentials(GlobalCredentials(AK, SK, TENANT))
            .with_endpoint(BASE)
            .with_http_config(config())
            .with_http_handler(handler())
            .build())


def workspace_client(project_id=TENANT):
    return (WorkspaceClient.new_builder()
            .with_credentials(BasicCredentials(AK, SK, project_id))
            .with_endpoint(BASE)
            .with_http_config(config())
            .with_http_handler(handler())
            .build())


# ---- strict comparison of an answer's JSON with the SDK model that reads it ----

def conforms(data, type_name, models, path="body"):
    """Problems of `data` (JSON) against the SDK type `type_name` ('str', 'list[X]', a model)."""
    if data is None:
        return []  # Huawei answers an absent value as null; every SDK field is optional
    m = re.fullmatch(r"list\[(.*)\]", type_name)
    if m:
        if not isinstance(data, list):
            return [f"{path}: {type(data).__name__}, the model declares a list"]
        return [p for i, item in enumerate(data) for p in conforms(item, m.group(1), models, f"{path}[{i}]")]
    m = re.fullmatch(r"dict\(([^,]*), (.*)\)", type_name)
    if m:
        if not isinstance(data, dict):
            return [f"{path}: {type(data).__name__}, the model declares an object"]
        return [p for k, v in data.items() for p in conforms(v, m.group(2), models, f"{path}.{k}")]
    primitive = {"str": str, "bool": bool, "int": int, "float": (int, float), "object": object}
    if type_name in primitive:
        ok = isinstance(data, primitive[type_name]) and not (type_name == "int" and isinstance(data, bool))
        return [] if ok else [f"{path}: {excerpt(data, 40)} is {type(data).__name__}, the model declares {type_name}"]
    klass = getattr(models, type_name)
    if not isinstance(data, dict):
        return [f"{path}: {type(data).__name__}, the model {type_name} declares an object"]
    by_json = {json_name: attr for attr, json_name in klass.attribute_map.items()}
    problems = []
    for key, value in data.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: a field {type_name} does not declare")
            continue
        problems += conforms(value, klass.openapi_types[by_json[key]], models, f"{path}.{key}")
    return problems


def strictly(response, type_name, models):
    """The SDK's deserialised response, after its raw body was found to match the model."""
    raw = response.raw_content
    if raw:
        problems = conforms(json.loads(raw), type_name, models)
        expect(not problems, "; ".join(problems))
    return response


def sdk_error(fn, status, code=None):
    """fn must raise the SDK's ClientRequestException with this status (and error_code), its
    error_msg read from the body."""
    try:
        fn()
    except sdk_exc.ClientRequestException as e:
        request_ids.append((code or status, e.request_id))
        expect(e.status_code == status, f"status {e.status_code}, expected {status} "
                                        f"(error_code {e.error_code}, error_msg {excerpt(e.error_msg)})")
        if code is not None:
            expect(e.error_code == code, f"error_code {e.error_code!r}, expected {code!r} ({excerpt(e.error_msg)})")
        else:
            expect(e.error_code and e.error_code != str(status),
                   f"no error_code read from the body: {excerpt(e.error_msg)}")
        expect(e.error_msg and not e.error_msg.lstrip().startswith("{"),
               f"error_msg not read from the body: {excerpt(e.error_msg)}")
        return e
    except sdk_exc.ServiceResponseException as e:
        request_ids.append((code or status, e.request_id))
        raise CheckFailed(f"{type(e).__name__} {e.status_code} {e.error_code}: {excerpt(e.error_msg)}, "
                          f"expected ClientRequestException {status}")
    raise CheckFailed(f"no error raised, expected {status} {code or ''}")


def password_login(client, name, password, project=False):
    Token.value = None
    scope = (iam.AuthScope(project=iam.AuthScopeProject(name=TENANT)) if project
             else iam.AuthScope(domain=iam.AuthScopeDomain(name=TENANT)))
    body = iam.KeystoneCreateUserTokenByPasswordRequestBody(auth=iam.PwdAuth(
        identity=iam.PwdIdentity(methods=["password"], password=iam.PwdPassword(
            user=iam.PwdPasswordUser(domain=iam.PwdPasswordUserDomain(name=TENANT), name=name,
                                     password=password))),
        scope=scope))
    return client.keystone_create_user_token_by_password(
        iam.KeystoneCreateUserTokenByPasswordRequest(body=body))


def modify(client, uid, **fields):
    Token.value = admin_token()
    return client.update_user(iam.UpdateUserRequest(
        user_id=uid, body=iam.UpdateUserRequestBody(user=iam.UpdateUserOption(**fields))))


def main():
    iam_c = iam_client()
    ws_c = workspace_client()
    target, other, pwd_user, desk = (user_id("hw-target"), user_id("hw-other"), user_id("hw-pwd"),
                                     user_id("hw-desk"))
    other_name = f"ConfOther{RUN}"

    def setup():
        create_user(target, email=target, name="Target Huawei")
        create_user(other, email=other, name="Other Huawei")
        create_user(pwd_user, email=pwd_user, name="Password Huawei")
        create_user(desk, email=desk, name="Desktop Huawei")
        # What the duplicates (1109-1113) collide with: the other user's name, phone, external id.
        answer = http("PUT", f"/v3.0/OS-USER/users/{other}", {"user": {
            "name": other_name, "areacode": "+86", "phone": f"1390000{RUN:0>5}"[:13],
            "xuser_type": "TenantIdp", "xuser_id": f"conf-{RUN}"}}, admin_token())
        expect(answer.status == 200, f"setup: modify {other} answered {answer!r}")
    suite.check("setup: users", setup)

    # ---- IAM token login (KeystoneCreateUserTokenByPassword) ----
    def token_login(project):
        r = strictly(password_login(iam_c, target, PASSWORD, project), "KeystoneCreateUserTokenByPasswordResponse", iam)
        expect(r.status_code == 201, f"status {r.status_code}, expected 201")
        expect(r.x_subject_token, "no X-Subject-Token read into x_subject_token")
        t = r.token
        expect(t is not None and t.user is not None, "no token.user")
        expect(t.user.id == target and t.user.domain.id == TENANT, f"token.user {t.user}")
        expect(t.methods == ["password"], f"methods {t.methods}")
        expect(t.roles and all(role.id and role.name for role in t.roles), f"roles {t.roles}")
        expect(t.expires_at and t.issued_at, "no expires_at / issued_at")
        if project:
            expect(t.project is not None and t.project.id == TENANT, f"token.project {t.project}")
        else:
            expect(t.domain is not None and t.domain.id == TENANT, f"token.domain {t.domain}")
        expect(t.catalog and any(c.type == "identity" and c.endpoints for c in t.catalog), f"catalog {t.catalog}")
        return r
    suite.check("token login by password, domain scope", token_login, False)
    suite.check("token login by password, project scope", token_login, True)
    suite.check("token login, wrong password: 401 LOGIN_FAILED through ClientRequestException",
                sdk_error, lambda: password_login(iam_c, target, "Wrong-Passw0rd-7x"), 401, "LOGIN_FAILED")

    # ---- IAM administrator modify (UpdateUser, PUT /v3.0/OS-USER/users/{user_id}) ----
    new_name = f"ConfTarget{RUN}"

    def modify_ok():
        r = strictly(modify(iam_c, target, name=new_name, description="conformance target",
                            email=target, areacode="+44", phone=f"7700{RUN:0>6}", enabled=True,
                            pwd_status=False, xuser_type="TenantIdp", xuser_id=f"target-{RUN}"),
                     "UpdateUserResponse", iam)
        expect(r.status_code == 200, f"status {r.status_code}")
        u = r.user
        expect(u is not None, "no user in the answer")
        expect((u.id, u.name, u.domain_id, u.description, u.enabled, u.pwd_status) ==
               (target, new_name, TENANT, "conformance target", True, False),
               f"user {excerpt(u.to_dict())}")
        expect((u.xuser_type, u.xuser_id) == ("TenantIdp", f"target-{RUN}"), f"xuser {u.xuser_type} {u.xuser_id}")
        expect(u.links is not None and u.links._self, f"links {u.links}")
        # The new login name logs in through the SDK.
        expect(password_login(iam_c, new_name, PASSWORD).x_subject_token, "no token for the new name")
    suite.check("UpdateUser: success, UpdateUserResult", modify_ok)

    codes = [
        ("1100", "an empty user", target, {}),
        ("1101", "a name starting with a digit", target, {"name": "1invalid"}),
        ("1102", "an invalid email", target, {"email": "not-an-email"}),
        ("1103", "a password the policy refuses", pwd_user, {"password": "short"}),
        ("1104", "an invalid mobile number", target, {"areacode": "+86", "phone": "12ab"}),
        ("1105", "xuser_type without xuser_id", target, {"xuser_type": "TenantIdp", "xuser_id": ""}),
        ("1106", "phone without areacode", target, {"phone": "13912345678"}),
        ("1107", "disabling the first administrator", ADMIN, {"enabled": False}),
        ("1108", "the current password", pwd_user, {"password": PASSWORD}),
        ("1109", "another user's name", target, {"name": other_name}),
        ("1110", "another user's email", target, {"email": other}),
        ("1111", "another user's mobile number", target, {"areacode": "+86", "phone": f"1390000{RUN:0>5}"[:13]}),
        ("1113", "another user's external identity", target, {"xuser_type": "TenantIdp", "xuser_id": f"conf-{RUN}"}),
        ("1117", "an over-long description", target, {"description": "d" * 256}),
    ]
    for code, what, uid, fields in codes:
        suite.check(f"UpdateUser {code} ({what}): 400 through ClientRequestException",
                    sdk_error, lambda uid=uid, fields=fields: modify(iam_c, uid, **fields), 400, code)
    suite.check("UpdateUser of an unknown user: 404", sdk_error,
                lambda: modify(iam_c, user_id("hw-nobody"), description="x"), 404)

    # ---- the user's own password change (KeystoneUpdateUserPassword) ----
    def change_password(token, uid, original, new):
        Token.value = token
        return iam_c.keystone_update_user_password(iam.KeystoneUpdateUserPasswordRequest(
            user_id=uid, body=iam.KeystoneUpdateUserPasswordRequestBody(
                user=iam.KeystoneUpdatePasswordOption(original_password=original, password=new))))

    def own_token(name, password):
        return password_login(iam_c, name, password).x_subject_token

    suite.check("KeystoneUpdateUserPassword, wrong original password: 401 WRONG_ORIGINAL_PASSWORD",
                sdk_error, lambda: change_password(own_token(pwd_user, PASSWORD), pwd_user, "Wrong-Passw0rd-6w",
                                                   PASSWORD2), 401, "WRONG_ORIGINAL_PASSWORD")
    suite.check("KeystoneUpdateUserPassword, another user's token: 403",
                sdk_error, lambda: change_password(admin_token(), pwd_user, PASSWORD, PASSWORD2), 403)

    def change_ok():
        r = strictly(change_password(own_token(pwd_user, PASSWORD), pwd_user, PASSWORD, PASSWORD2),
                     "KeystoneUpdateUserPasswordResponse", iam)
        expect(r.status_code == 204, f"status {r.status_code}, expected 204")
        expect(own_token(pwd_user, PASSWORD2), "no login with the new password")
    suite.check("KeystoneUpdateUserPassword: 204, then login with the new password", change_ok)

    # ---- Workspace: user actions, random password, modify desktop user ----
    def action(uid, op, client=ws_c):
        Token.value = admin_token()
        return client.change_user_status(ws.ChangeUserStatusRequest(user_id=uid, body=ws.OperateUserReq(op_type=op)))

    def lock_unlock():
        r = strictly(action(desk, "LOCK"), "ChangeUserStatusResponse", ws)
        expect(r.status_code == 200, f"LOCK status {r.status_code}")
        refused = http("POST", "/v3/auth/tokens", {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"name": desk, "password": PASSWORD, "domain": {"name": TENANT}}}}}})
        expect(refused.status == 401, f"login of a LOCKed user answered {refused!r}")
        r = strictly(action(desk, "UNLOCK"), "ChangeUserStatusResponse", ws)
        expect(r.status_code == 200, f"UNLOCK status {r.status_code}")
        login(desk, PASSWORD)
    suite.check("ChangeUserStatus LOCK then UNLOCK: 200 each, login refused while locked", lock_unlock)

    def reset_pwd():
        since = time.time()
        r = strictly(action(desk, "RESET_PWD"), "ChangeUserStatusResponse", ws)
        expect(r.status_code == 200, f"RESET_PWD status {r.status_code}")
        mail_for(desk, since)
    suite.check("ChangeUserStatus RESET_PWD: 200, a temporary password mailed", reset_pwd)
    suite.check("ChangeUserStatus with an unknown op_type: 400 INVALID_PARAMETER", sdk_error,
                lambda: action(desk, "FREEZE"), 400, "INVALID_PARAMETER")
    suite.check("ChangeUserStatus in another project: 403", sdk_error,
                lambda: action(desk, "LOCK", workspace_client("another-project")), 403)

    def random_password(notification=None):
        Token.value = admin_token()
        since = time.time()
        r = strictly(ws_c.reset_random_password(ws.ResetRandomPasswordRequest(
            user_id=desk, notification_type=notification)), "ResetRandomPasswordResponse", ws)
        expect(r.status_code == 200, f"status {r.status_code}")
        p = r.password or ""
        expect(len(p) == 16 and all(re.search(c, p) for c in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]")),
               f"password of {len(p)} characters, expected 16 with all four classes")
        if notification:
            mail_for(desk, since)
    suite.check("ResetRandomPassword: 200, ResetRandomPasswordResponse.password", random_password)
    suite.check("ResetRandomPassword notification_type=email: mailed", random_password, "email")
    suite.check("ResetRandomPassword of an unknown user: 404", sdk_error,
                lambda: ws_c.reset_random_password(ws.ResetRandomPasswordRequest(user_id=user_id("hw-nobody"))), 404)

    def edit(uid, **fields):
        Token.value = admin_token()
        return ws_c.update_user_info(ws.UpdateUserInfoRequest(user_id=uid, body=ws.EditUserReq(**fields)))

    def edit_ok():
        r = strictly(edit(desk, description="desktop user", user_email=desk, user_phone=f"+8613{RUN:0>9}",
                          active_type="USER_ACTIVATE", account_expires="0", enable_change_password=True,
                          next_login_change_password=False, password_never_expired=False, disabled=False),
                     "UpdateUserInfoResponse", ws)
        expect(r.status_code == 200 and r.id == desk, f"status {r.status_code}, id {r.id!r}")
    suite.check("UpdateUserInfo (EditUserReq): 200, UpdateUserInfoResponse.id", edit_ok)

    def edit_info_map():
        info = '{"department": "conformance"}'
        r = strictly(edit(desk, user_info_map=info), "UpdateUserInfoResponse", ws)
        expect(r.status_code == 200 and r.id == desk, f"status {r.status_code}, id {r.id!r}")
    suite.check("UpdateUserInfo with user_info_map: 200", edit_info_map)
    suite.check("UpdateUserInfo with another user's email: 409 ALREADY_EXISTS", sdk_error,
                lambda: edit(desk, user_email=other), 409, "ALREADY_EXISTS")

    def every_error_has_request_id():
        missing = [code for code, rid in request_ids if not rid]
        expect(request_ids, "no SDK exception was raised")
        expect(not missing, f"request_id None (no X-Request-Id) in {len(missing)} of {len(request_ids)} "
                            f"exceptions: {', '.join(sorted(set(map(str, missing))))}")
    suite.check("request_id (X-Request-Id) on every SDK exception", every_error_has_request_id)

    def every_answer_has_request_id():
        missing = [what for what, rid in answer_ids if not rid]
        expect(not missing, f"no X-Request-Id on {len(missing)} of {len(answer_ids)} answers: "
                            f"{', '.join(sorted(set(missing)))}")
    suite.check("X-Request-Id on every answer (the SDK's response hook)", every_answer_has_request_id)

    suite.finish()


if __name__ == "__main__":
    main()
