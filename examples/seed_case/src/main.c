/*
 * The seed case of Zephyr issue #89193: the server writes its 101 response,
 * its setup instructions and a ping in one TCP segment. Zephyr's client drops
 * the frames that share the segment with the 101; with wsc both come out of
 * websocket_recv_msg().
 *
 * The server is the project's fixture, whose /demo scenario does exactly that
 * (one write: 101 head, a text greeting, a ping "keepalive-1"; once the pong
 * arrives it sends `server: pong "keepalive-1" received`, then echoes):
 *   /usr/bin/python3 tests/fixtures/hostile_server.py    # prints PORT <n>
 *   SERVER_PORT=<n> build/compat/zephyr/seed_case
 * It exits with 0 when the greeting, the ping and the pong's confirmation all
 * arrived, each exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/websocket.h>

#define SERVER_ADDR4 "127.0.0.1"
#define DEFAULT_PORT 8080
#define GREETING "Welcome to the wsc demo server!"
#define CONFIRMATION "server: pong \"keepalive-1\" received"

static uint8_t temp_recv_buf[256];

/* One whole frame (control frames included) into buf; its flags in *type. */
static int recv_frame(int ws, uint8_t *buf, size_t len, uint32_t *type, int32_t timeout)
{
    size_t total = 0;
    for (;;) {
        uint64_t remaining = 0;
        int ret = websocket_recv_msg(ws, buf + total, len - total, type, &remaining, timeout);
        if (ret < 0)
            return ret;
        total += (size_t)ret;
        if (remaining == 0)
            return (int)total;
        if (total == len)
            return -EMSGSIZE;
    }
}

int main(void)
{
    const char *port_env = getenv("SERVER_PORT");
    int port = port_env ? atoi(port_env) : DEFAULT_PORT;
    struct sockaddr_in addr4;
    uint8_t buf[256];
    uint32_t type = 0;
    int ret;

    int sock = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    memset(&addr4, 0, sizeof(addr4));
    addr4.sin_family = AF_INET;
    addr4.sin_port = htons((uint16_t)port);
    zsock_inet_pton(AF_INET, SERVER_ADDR4, &addr4.sin_addr);
    if (sock < 0 || zsock_connect(sock, (struct sockaddr *)&addr4, sizeof(addr4)) < 0) {
        printk("cannot connect to %s:%d\n", SERVER_ADDR4, port);
        return 1;
    }

    struct websocket_request req;
    memset(&req, 0, sizeof(req));
    req.host = SERVER_ADDR4;
    req.url = "/demo";
    req.tmp_buf = temp_recv_buf;
    req.tmp_buf_len = sizeof(temp_recv_buf);
    int ws = websocket_connect(sock, &req, 5 * MSEC_PER_SEC, NULL);
    if (ws < 0) {
        printk("websocket_connect failed (%d): %s\n", ws, wsc_websocket_last_error());
        zsock_close(sock);
        return 1;
    }

    /* The frames came with the 101: poll must not make us wait for them. */
    struct zsock_pollfd pfd = {.fd = ws, .events = ZSOCK_POLLIN};
    ret = zsock_poll(&pfd, 1, 0);
    printk("poll right after the handshake: %d (%s)\n", ret,
           ret == 1 && (pfd.revents & ZSOCK_POLLIN) ? "frames already buffered" : "nothing");
    bool ok = ret == 1;

    /* 1: the setup instructions, in the same segment as the 101. */
    ret = recv_frame(ws, buf, sizeof(buf) - 1, &type, 0);
    ok = ok && ret > 0 && (type & WEBSOCKET_FLAG_TEXT) && (type & WEBSOCKET_FLAG_FINAL) &&
         strncmp((const char *)buf, GREETING, strlen(GREETING)) == 0;
    printk("1. text  (type 0x%02x): %.*s\n", (unsigned)type, ret > 0 ? ret : 0, (char *)buf);

    /* 2: the ping, in that segment too; wsc has already sent the pong. */
    ret = recv_frame(ws, buf, sizeof(buf), &type, 0);
    ok = ok && ret == 11 && (type & WEBSOCKET_FLAG_PING) && memcmp(buf, "keepalive-1", 11) == 0;
    printk("2. ping  (type 0x%02x): %.*s\n", (unsigned)type, ret > 0 ? ret : 0, (char *)buf);
    if (ret >= 0) /* a Zephyr app answers; wsc sees it is the same pong and sends no second */
        websocket_send_msg(ws, buf, (size_t)ret, WEBSOCKET_OPCODE_PONG, true, true, 1000);

    /* 3: the server confirms the pong. */
    ret = recv_frame(ws, buf, sizeof(buf), &type, 5 * MSEC_PER_SEC);
    ok = ok && ret == (int)strlen(CONFIRMATION) && memcmp(buf, CONFIRMATION, (size_t)ret) == 0;
    printk("3. text  (type 0x%02x): %.*s\n", (unsigned)type, ret > 0 ? ret : 0, (char *)buf);

    /* 4: an echo, and no second confirmation before it (one pong only). */
    websocket_send_msg(ws, (const uint8_t *)"done", 4, WEBSOCKET_OPCODE_DATA_TEXT, true, true,
                       1000);
    ret = recv_frame(ws, buf, sizeof(buf), &type, 5 * MSEC_PER_SEC);
    ok = ok && ret == 4 && memcmp(buf, "done", 4) == 0;
    printk("4. echo  (type 0x%02x): %.*s\n", (unsigned)type, ret > 0 ? ret : 0, (char *)buf);

    websocket_disconnect(ws);
    zsock_close(sock);
    printk("%s\n", ok ? "seed case: nothing lost" : "seed case: FAILED");
    return ok ? 0 : 1;
}
