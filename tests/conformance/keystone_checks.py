"""keystoneauth1 + python-keystoneclient against the local server, configured as an OpenStack-style
client configures them (auth_url ending in /v3, user and project domains named), no endpoint
overrides unless a check says why."""

import datetime

from keystoneauth1 import discover, exceptions as ka_exc, session as ka_session
from keystoneauth1.identity import generic, v3
from keystoneclient.v3 import client as ks_client

from common import (BASE, PASSWORD, PASSWORD2, TENANT, CheckFailed, Suite, create_user, excerpt,
                    expect, http, user_id)

AUTH_URL = BASE + "/v3"
suite = Suite("keystoneauth1+keystoneclient")


def session(**auth):
    return ka_session.Session(auth=v3.Password(auth_url=AUTH_URL, **auth))


def access_of(sess):
    return sess.auth.get_access(sess)


def logged_in(sess, uid, scope):
    """The token and what keystoneauth1 read from the token body."""
    token = sess.get_token()
    expect(token, "no token (X-Subject-Token) was read")
    access = access_of(sess)
    expect(access.user_id == uid, f"user.id {access.user_id!r}, expected {uid!r}")
    expect(access.user_domain_id == TENANT, f"user.domain.id {access.user_domain_id!r}, expected {TENANT!r}")
    expect(access.expires > datetime.datetime.now(datetime.timezone.utc), f"expires_at {access.expires} is past")
    expect(access.role_names, "no roles")
    if scope == "domain":
        expect(access.domain_scoped, "token not domain-scoped")
        expect(access.domain_id == TENANT, f"domain.id {access.domain_id!r}, expected {TENANT!r}")
    else:
        expect(access.project_scoped, f"token not project-scoped (body has no project: domain {access.domain_id!r})")
        expect(access.project_id == TENANT, f"project.id {access.project_id!r}, expected {TENANT!r}")
        expect(access.project_domain_id == TENANT,
               f"project.domain.id {access.project_domain_id!r}, expected {TENANT!r}")
    return access


def unauthorized_with_message(fn):
    """fn must raise keystoneauth1's Unauthorized carrying the server's own message."""
    try:
        fn()
    except ka_exc.Unauthorized as e:
        body = e.response.json() if e.response is not None else {}
        server_msg = body.get("error_msg") or (body.get("error") or {}).get("message")
        expect(e.message and e.message != "Unrecognized schema in response body.",
               f"Unauthorized without the server's message: {e.message!r} (body {excerpt(body)})")
        expect(server_msg and server_msg in e.message,
               f"message {e.message!r}, the server's error_msg {server_msg!r}")
        error = body.get("error")
        expect(isinstance(error, dict) and error.get("code") == 401 and error.get("title"),
               f"Keystone error object {excerpt(error)}, expected code 401 with a title")
        return
    except ka_exc.HttpError as e:
        raise CheckFailed(f"{type(e).__name__} (HTTP {e.http_status}), expected Unauthorized: "
                          f"{excerpt(e.response.text if e.response is not None else e.message)}")
    raise CheckFailed("no error raised")


def main():
    alice = user_id("ks-alice")
    bob = user_id("ks-bob")
    suite.check("setup: users", lambda: (create_user(alice, name="Alice Keystone"),
                                         create_user(bob, name="Bob Keystone")))

    # Log-ins: by name and by id, domain and project scopes, as clouds.yaml configurations set them.
    suite.check("login by name, domain scope by name",
                lambda: logged_in(session(username=alice, password=PASSWORD, user_domain_name=TENANT,
                                          domain_name=TENANT), alice, "domain"))
    suite.check("login by name, domain scope by id",
                lambda: logged_in(session(username=alice, password=PASSWORD, user_domain_id=TENANT,
                                          domain_id=TENANT), alice, "domain"))
    suite.check("login by user id, domain scope",
                lambda: logged_in(session(user_id=alice, password=PASSWORD, domain_id=TENANT), alice, "domain"))
    suite.check("login by name, project scope by id",
                lambda: logged_in(session(username=alice, password=PASSWORD, user_domain_name=TENANT,
                                          project_id=TENANT), alice, "project"))
    suite.check("login by name, project scope by name with project_domain_name",
                lambda: logged_in(session(username=alice, password=PASSWORD, user_domain_name=TENANT,
                                          project_name=TENANT, project_domain_name=TENANT), alice, "project"))
    suite.check("login by user id, project scope by name with project_domain_id",
                lambda: logged_in(session(user_id=alice, password=PASSWORD, project_name=TENANT,
                                          project_domain_id=TENANT), alice, "project"))

    def catalog():
        access = access_of(session(username=alice, password=PASSWORD, user_domain_name=TENANT, domain_name=TENANT))
        for interface in ("public", "internal", "admin"):
            try:
                url = access.service_catalog.url_for(service_type="identity", interface=interface)
            except ka_exc.EndpointNotFound:
                raise CheckFailed(f"no identity endpoint for interface {interface!r} in the catalog "
                                  f"{excerpt(access.service_catalog.catalog)}")
            expect(url.rstrip("/") == AUTH_URL, f"identity {interface} endpoint {url!r}, expected {AUTH_URL!r}")
    suite.check("catalog: identity endpoint at /v3 for public, internal, admin", catalog)

    # Version discovery, as keystoneauth1 does it when auth_url names no version.
    def versions_at_root():
        # Keystone answers its version list with 300 Multiple Choices.
        answer = http("GET", "/")
        expect(answer.status == 300, f"GET / answered {answer!r}, expected 300 with the version list")
        data = discover.get_version_data(ka_session.Session(), BASE + "/")
        ids = [(v.get("id"), v.get("status")) for v in data]
        expect(any(i and i.startswith("v3") and s in ("stable", "CURRENT", "current") for i, s in ids),
               f"no stable v3 in the version list {excerpt(data)}")
    suite.check("discovery: GET / is a 300 listing a stable v3", versions_at_root)

    def version_document():
        disc = discover.Discover(ka_session.Session(), AUTH_URL)
        v3_data = disc.data_for("3.0")
        expect(v3_data, f"no 3.x version in GET /v3's document {excerpt(disc.raw_version_data())}")
        expect(v3_data["url"].rstrip("/") == AUTH_URL, f"v3 self link {v3_data['url']!r}, expected {AUTH_URL}/")
    suite.check("discovery: GET /v3 is the v3 version document", version_document)

    def generic_login():
        sess = ka_session.Session(auth=generic.Password(auth_url=BASE, username=alice, password=PASSWORD,
                                                        user_domain_name=TENANT, project_name=TENANT,
                                                        project_domain_name=TENANT))
        logged_in(sess, alice, "project")
    suite.check("discovery: generic.Password with the bare URL logs in through v3", generic_login)

    # keystoneclient, unchanged: the endpoint comes from the token's catalog (interface admin).
    def update_password_discovered():
        # Scoped by project id, so that this check is about discovery, not the project's domain.
        sess = session(username=bob, password=PASSWORD, user_domain_name=TENANT, project_id=TENANT)
        keystone = ks_client.Client(session=sess)
        try:
            # A 2xx without a body: keystoneclient answers None (wrapped with the request ids).
            keystone.users.update_password(PASSWORD, PASSWORD2)
        except ka_exc.HttpError as e:
            raise CheckFailed(f"{type(e).__name__} (HTTP {e.http_status}) from {e.url}: {e.message}")
        except ka_exc.EndpointNotFound as e:
            raise CheckFailed(f"EndpointNotFound: {e}")
        logged_in(session(username=bob, password=PASSWORD2, user_domain_name=TENANT, domain_name=TENANT),
                  bob, "domain")
    suite.check("keystoneclient.v3.Client(session) users.update_password, no endpoint_override",
                update_password_discovered)

    # Errors through keystoneauth1's exceptions.
    suite.check("wrong password: Unauthorized with the server's message",
                unauthorized_with_message,
                lambda: session(username=alice, password="Wrong-Passw0rd-9z", user_domain_name=TENANT,
                                domain_name=TENANT).get_token())
    suite.check("project scope in another domain: Unauthorized",
                unauthorized_with_message,
                lambda: session(username=alice, password=PASSWORD, user_domain_name=TENANT,
                                project_name=TENANT, project_domain_name="another-domain").get_token())

    def wrong_original():
        sess = session(username=alice, password=PASSWORD, user_domain_name=TENANT, domain_name=TENANT)
        # The endpoint is given here so that this check is about the error alone, not discovery.
        keystone = ks_client.Client(session=sess, endpoint_override=AUTH_URL)
        unauthorized_with_message(lambda: keystone.users.update_password("Wrong-Passw0rd-8y", PASSWORD2))
    suite.check("update_password with a wrong original password: Unauthorized", wrong_original)

    suite.finish()


if __name__ == "__main__":
    main()
