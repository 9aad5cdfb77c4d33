/* CCurl: libcurl for Swift. Typed, non-variadic wrappers around curl_easy_setopt,
 * curl_easy_getinfo and curl_multi_setopt (Swift cannot call C variadic functions),
 * plus the few macro constants that do not import. Only RelayCurl imports this module. */
#ifndef RELAY_CCURL_SHIM_H
#define RELAY_CCURL_SHIM_H

#include <curl/curl.h>

/* curl_easy_setopt */
static inline CURLcode relay_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relay_curl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relay_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relay_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode relay_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
/* For CURLOPT_WRITEFUNCTION and CURLOPT_HEADERFUNCTION (same C signature). */
static inline CURLcode relay_curl_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback v) { return curl_easy_setopt(h, o, v); }
/* For CURLOPT_PREREQFUNCTION (libcurl 7.80+): called once connected, before the request is sent. */
static inline CURLcode relay_curl_setopt_prereq_callback(CURL *h, CURLoption o, curl_prereq_callback v) { return curl_easy_setopt(h, o, v); }

/* curl_easy_getinfo */
static inline CURLcode relay_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode relay_curl_getinfo_off_t(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode relay_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode relay_curl_getinfo_pointer(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

/* curl_multi_setopt */
static inline CURLMcode relay_curl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* Macro constants that Swift does not import. */
static inline size_t relay_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline int relay_curl_pause_cont(void) { return CURLPAUSE_CONT; }
static inline size_t relay_curl_error_size(void) { return CURL_ERROR_SIZE; }
static inline long relay_curl_global_all(void) { return CURL_GLOBAL_ALL; }
static inline int relay_curl_prereqfunc_ok(void) { return CURL_PREREQFUNC_OK; }
static inline int relay_curl_prereqfunc_abort(void) { return CURL_PREREQFUNC_ABORT; }

#endif
