/* curl-multi-ceiling: how fast one thread driving libcurl's multi interface can POST to a URL with
 * keep-alive, i.e. the ceiling of a libcurl-based relay on this machine (no outbox, no Swift).
 *
 *   cc -O2 -o /tmp/curl-multi-ceiling bench/curl-multi-ceiling.c -lcurl
 *   /tmp/curl-multi-ceiling URL [N=200000] [HANDLES=32] [MODE=socket|perform|pollsock] [SETUP=reuse|fresh|curlu] [HEADERS=lines|joined]
 *
 * Each of HANDLES easy handles POSTs a ~420-byte JSON body with the headers the relay's HTTP sink sends
 * (ce-*, Content-Type, client-key), N requests in all, over keep-alive connections.
 * MODE perform: curl_multi_perform + curl_multi_poll (what CurlWorker does);
 *      socket:  curl_multi_socket_action driven by epoll (libcurl tells which sockets to watch);
 *      pollsock: curl_multi_socket_action driven by one poll(2) over those sockets (no epoll_ctl).
 * SETUP reuse: a finished handle is removed and added again with its options and header list as they were;
 *       fresh: curl_easy_reset, every option and a new header list per request (the relay before issue 19);
 *       curlu: as reuse, with the URL parsed once and handed over as CURLOPT_CURLU (what RelayCurl's feeds do).
 * HEADERS lines: one entry of the header list per header;
 *         joined: the six ce-* lines as one entry, joined by CRLF (what RelayCurl's feeds do with plain headers).
 * Prints requests/s, the process CPU per request (user+sys), and non-2xx/failed counts. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>

static const char *url;
static char body[512];
static long done_count, failed, non2xx;
static int epfd;
static long timeout_ms = -1;

static size_t discard(char *p, size_t s, size_t n, void *u) { (void)p; (void)u; return s * n; }

static int joined; /* HEADERS joined: the ce-* lines as one entry of the list, joined by CRLF (what RelayCurl's feeds do) */

static struct curl_slist *headers_for(long i) {
    char line[160];
    struct curl_slist *h = NULL;
    snprintf(line, sizeof line, "client-key: key_%04ld", i % 1000); h = curl_slist_append(h, line);
    if (joined) {
        char block[512];
        snprintf(block, sizeof block, "ce-specversion: 1.0\r\nce-id: 0b0e5f3c-8f7a-4d3b-9a61-%012ld\r\n"
                 "ce-source: /audience-relay/sources/sitecore\r\nce-type: com.sitecore.cdp.audience-export.notification\r\n"
                 "ce-subject: audience_export_%04ld\r\nce-time: 2026-12-06T16:00:00.000Z", i, i % 1000);
        h = curl_slist_append(h, block);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        return h;
    }
    h = curl_slist_append(h, "ce-specversion: 1.0");
    snprintf(line, sizeof line, "ce-id: 0b0e5f3c-8f7a-4d3b-9a61-%012ld", i); h = curl_slist_append(h, line);
    h = curl_slist_append(h, "ce-source: /audience-relay/sources/sitecore");
    h = curl_slist_append(h, "ce-type: com.sitecore.cdp.audience-export.notification");
    snprintf(line, sizeof line, "ce-subject: audience_export_%04ld", i % 1000); h = curl_slist_append(h, line);
    h = curl_slist_append(h, "ce-time: 2026-12-06T16:00:00.000Z");
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, "Expect:");
    return h;
}

static CURLU *parsed_url; /* SETUP curlu: the URL parsed once and handed over as CURLOPT_CURLU */

static void configure(CURL *e, struct curl_slist *h) {
    if (parsed_url) curl_easy_setopt(e, CURLOPT_CURLU, parsed_url);
    else curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
}

static int on_socket(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
    (void)e; (void)u;
    struct epoll_event ev = {0};
    ev.data.fd = s;
    if (what == CURL_POLL_REMOVE) { epoll_ctl(epfd, EPOLL_CTL_DEL, s, NULL); return 0; }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (!sp) {
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, s, &ev) != 0) epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
        curl_multi_assign(((CURLM **)u)[0], s, (void *)1);
    } else {
        epoll_ctl(epfd, EPOLL_CTL_MOD, s, &ev);
    }
    return 0;
}

/* MODE pollsock: the sockets libcurl asks for kept in a pollfd array (no syscall per change), one poll(2) per round. */
static struct pollfd pfds[1024];
static int npfds;

static int on_socket_poll(CURL *e, curl_socket_t s, int what, void *u, void *sp) {
    (void)e; (void)u; (void)sp;
    int i = 0;
    while (i < npfds && pfds[i].fd != s) i++;
    if (what == CURL_POLL_REMOVE) { if (i < npfds) pfds[i] = pfds[--npfds]; return 0; }
    if (i == npfds) { pfds[npfds].fd = s; npfds++; }
    pfds[i].events = (short)((what & CURL_POLL_IN ? POLLIN : 0) | (what & CURL_POLL_OUT ? POLLOUT : 0));
    pfds[i].revents = 0;
    return 0;
}

static int on_timer(CURLM *m, long ms, void *u) { (void)m; (void)u; timeout_ms = ms; return 0; }

static double now_s(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s URL [N] [HANDLES] [socket|perform|pollsock] [reuse|fresh|curlu] [lines|joined]\n", argv[0]); return 64; }
    url = argv[1];
    long n = argc > 2 ? atol(argv[2]) : 200000;
    int handles = argc > 3 ? atoi(argv[3]) : 32;
    int socket_mode = argc > 4 ? strcmp(argv[4], "perform") != 0 : 1;
    int poll_mode = argc > 4 && strcmp(argv[4], "pollsock") == 0;
    int fresh = argc > 5 ? strcmp(argv[5], "fresh") == 0 : 0;
    joined = argc > 6 && strcmp(argv[6], "joined") == 0;
    if (argc > 5 && strcmp(argv[5], "curlu") == 0) {
        parsed_url = curl_url();
        curl_url_set(parsed_url, CURLUPART_URL, url, 0);
    }
    snprintf(body, sizeof body, "{\"friendlyId\":\"audience_export_0001\",\"executionRef\":\"0b0e5f3c-8f7a-4d3b-9a61-000000000001\","
             "\"clientKey\":\"key_0001\",\"status\":\"SUCCESS\",\"type\":\"AUDIENCE_EXPORT\",\"apiUrl\":\"https://api.example.com/v2/"
             "audienceExports/0001/executions/0b0e5f3c\",\"createdAt\":\"2026-12-06T16:00:00.000Z\",\"totalRecords\":\"12345\","
             "\"fileFormat\":\"CSV\",\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
    curl_global_init(CURL_GLOBAL_ALL);
    CURLM *multi = curl_multi_init();
    CURLM *self[1] = {multi};
    curl_multi_setopt(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)handles);
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, (long)handles);
    if (socket_mode) {
        epfd = epoll_create1(0);
        curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, poll_mode ? on_socket_poll : on_socket);
        curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, self);
        curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, on_timer);
    }
    CURL **easy = calloc(handles, sizeof *easy);
    struct curl_slist **lists = calloc(handles, sizeof *lists);
    long started = 0;
    for (int i = 0; i < handles && started < n; i++, started++) {
        easy[i] = curl_easy_init();
        lists[i] = headers_for(started);
        configure(easy[i], lists[i]);
        curl_easy_setopt(easy[i], CURLOPT_PRIVATE, (void *)(long)i);
        curl_multi_add_handle(multi, easy[i]);
    }
    double t0 = now_s();
    int running = 1;
    struct epoll_event events[64];
    if (socket_mode) curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
    while (done_count < n) {
        if (poll_mode) {
            struct pollfd ready[1024];
            int count = npfds;
            memcpy(ready, pfds, sizeof(struct pollfd) * (size_t)count);
            int k = poll(ready, (nfds_t)count, timeout_ms < 0 ? 1000 : (int)timeout_ms);
            if (k <= 0) curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
            for (int j = 0; j < count && k > 0; j++) {
                short r = ready[j].revents;
                if (!r) continue;
                int mask = (r & POLLIN ? CURL_CSELECT_IN : 0) | (r & POLLOUT ? CURL_CSELECT_OUT : 0) | (r & (POLLERR | POLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(multi, ready[j].fd, mask, &running);
            }
        } else if (socket_mode) {
            int k = epoll_wait(epfd, events, 64, timeout_ms < 0 ? 1000 : (int)timeout_ms);
            if (k <= 0) curl_multi_socket_action(multi, CURL_SOCKET_TIMEOUT, 0, &running);
            for (int j = 0; j < k; j++) {
                int mask = (events[j].events & EPOLLIN ? CURL_CSELECT_IN : 0) | (events[j].events & EPOLLOUT ? CURL_CSELECT_OUT : 0)
                           | (events[j].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
                curl_multi_socket_action(multi, events[j].data.fd, mask, &running);
            }
        } else {
            curl_multi_perform(multi, &running);
        }
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE) continue;
            CURL *e = m->easy_handle;
            long status = 0;
            if (m->data.result != CURLE_OK) failed++;
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
            if (status < 200 || status > 299) non2xx++;
            curl_multi_remove_handle(multi, e);
            done_count++;
            if (started < n) {
                if (fresh) {
                    void *slot; curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&slot);
                    long i = (long)slot;
                    curl_easy_reset(e);
                    curl_slist_free_all(lists[i]);
                    lists[i] = headers_for(started);
                    configure(e, lists[i]);
                    curl_easy_setopt(e, CURLOPT_PRIVATE, slot);
                }
                started++;
                curl_multi_add_handle(multi, e);
            }
        }
        if (!socket_mode && done_count < n) curl_multi_poll(multi, NULL, 0, 1000, NULL);
    }
    double elapsed = now_s() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    printf("mode=%s setup=%s headers=%s handles=%d n=%ld elapsed=%.2fs req/s=%.0f cpu_us/req=%.1f (user %.1f sys %.1f) failed=%ld non2xx=%ld\n",
           socket_mode ? (poll_mode ? "pollsock" : "socket") : "perform", fresh ? "fresh" : parsed_url ? "curlu" : "reuse", joined ? "joined" : "lines", handles, n, elapsed, n / elapsed, cpu * 1e6 / n,
           (ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6) * 1e6 / n, (ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6) * 1e6 / n,
           failed, non2xx);
    for (int i = 0; i < handles; i++) if (easy[i]) { curl_easy_cleanup(easy[i]); curl_slist_free_all(lists[i]); }
    curl_multi_cleanup(multi);
    return failed || non2xx ? 1 : 0;
}
