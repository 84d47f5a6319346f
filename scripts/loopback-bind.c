/*
 * loopback-bind.c - LD_PRELOAD shim that confines a program's listening
 * sockets to the loopback interface.
 *
 * Why it exists: AWS's DynamoDB Local has no bind-address option; it always
 * listens on every interface (0.0.0.0 / [::]).  We only ever want it reachable
 * from this machine, so scripts/dynamodb-local.sh preloads this library into
 * the java process.  It wraps bind(2) and rewrites a wildcard address to
 * loopback before calling the real bind:
 *
 *   AF_INET   0.0.0.0 -> 127.0.0.1
 *   AF_INET6  ::      -> ::ffff:127.0.0.1  if the socket is dual-stack
 *                                          (IPV6_V6ONLY off: it would also have
 *                                          accepted IPv4 traffic)
 *                     -> ::1               if the socket is IPv6-only
 *
 * The port and every other field are kept.  Specific (non-wildcard) addresses
 * and other families (AF_UNIX, ...) are passed through untouched.  Every
 * socket type is rewritten, not only TCP, so nothing the process binds is
 * reachable from outside; the price is that a wildcard-bound client socket
 * can then only talk to loopback, which DynamoDB Local (run with
 * -disableTelemetry) never needs.
 *
 * Build: gcc -shared -fPIC -O2 -Wall -o loopback-bind.so loopback-bind.c -ldl
 * Use:   LD_PRELOAD=/abs/path/loopback-bind.so some-server ...
 * Set LOOPBACK_BIND_DEBUG=1 to log each rewrite to stderr.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef int (*bind_fn)(int, const struct sockaddr *, socklen_t);

static bind_fn real_bind_ptr;

static bind_fn real_bind(void)
{
    /* A racy first lookup is harmless: every thread stores the same value. */
    bind_fn fn = __atomic_load_n(&real_bind_ptr, __ATOMIC_ACQUIRE);
    if (fn == NULL) {
        fn = (bind_fn)dlsym(RTLD_NEXT, "bind");
        __atomic_store_n(&real_bind_ptr, fn, __ATOMIC_RELEASE);
    }
    return fn;
}

__attribute__((constructor)) static void loopback_bind_init(void)
{
    (void)real_bind();
}

static void debug_log(const char *what, int fd)
{
    const char *dbg = getenv("LOOPBACK_BIND_DEBUG");
    if (dbg != NULL && dbg[0] != '\0' && dbg[0] != '0') {
        char buf[128];
        int n = snprintf(buf, sizeof buf, "loopback-bind: fd %d: wildcard -> %s\n", fd, what);
        if (n > 0) {
            ssize_t ignored = write(STDERR_FILENO, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
            (void)ignored;
        }
    }
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
    bind_fn next = real_bind();
    if (next == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (addr == NULL) {
        return next(fd, addr, len);
    }

    if (addr->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        struct sockaddr_in sin;
        memcpy(&sin, addr, sizeof sin);
        if (sin.sin_addr.s_addr == htonl(INADDR_ANY)) {
            sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            debug_log("127.0.0.1", fd);
            return next(fd, (const struct sockaddr *)&sin, (socklen_t)sizeof sin);
        }
    } else if (addr->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, addr, sizeof sin6);
        if (IN6_IS_ADDR_UNSPECIFIED(&sin6.sin6_addr)) {
            int v6only = 0;
            socklen_t optlen = sizeof v6only;
            int saved_errno = errno;
            if (getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &optlen) != 0) {
                v6only = 0; /* unknown: assume the Linux default (dual-stack) */
            }
            errno = saved_errno;
            if (v6only) {
                sin6.sin6_addr = in6addr_loopback; /* ::1 */
                debug_log("::1", fd);
            } else {
                /* ::ffff:127.0.0.1 (IPv4-mapped loopback) */
                memset(&sin6.sin6_addr, 0, sizeof sin6.sin6_addr);
                sin6.sin6_addr.s6_addr[10] = 0xff;
                sin6.sin6_addr.s6_addr[11] = 0xff;
                sin6.sin6_addr.s6_addr[12] = 127;
                sin6.sin6_addr.s6_addr[13] = 0;
                sin6.sin6_addr.s6_addr[14] = 0;
                sin6.sin6_addr.s6_addr[15] = 1;
                debug_log("::ffff:127.0.0.1", fd);
            }
            return next(fd, (const struct sockaddr *)&sin6, (socklen_t)sizeof sin6);
        }
    }
    return next(fd, addr, len);
}
