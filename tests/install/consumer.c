/* A program built against an installed wsc, through find_package or pkg-config. */
#include <stdio.h>
#include <string.h>

#include <wsc/wsc.h>

int main(void)
{
    struct wsc_url u;
    if (wsc_url_parse("ws://[::1]:9001/chat?room=1", &u) != 0 || strcmp(u.host, "::1") != 0 ||
        u.port != 9001 || strcmp(u.resource, "/chat?room=1") != 0)
        return 1;
    struct wsc_conn c;
    int rc = wsc_connect(&c, "ws://127.0.0.1:1/", NULL);
    printf("wsc %s: %s\n", WSC_VERSION, wsc_conn_detail(&c));
    wsc_conn_free(&c);
    return rc == WSC_ECONNREFUSED ? 0 : 1;
}
