/*
 * A typical Zephyr WebSocket client, built on Linux against wsc's Zephyr
 * headers with no change to its logic: it connects a TCP socket, upgrades it
 * with websocket_connect(), sends text and binary messages with
 * websocket_send_msg() and reads each echo back with websocket_recv_msg()
 * through a small buffer, following `remaining`, then disconnects.
 *
 * Run it against any echo server:
 *   /usr/bin/python3 tests/peers/python_echo.py       # prints PORT <n>
 *   SERVER_PORT=<n> build/compat/zephyr/zephyr_client
 * It exits with 0 when every echo matched.
 */
#include <stdlib.h>
#include <string.h>

#include <zephyr/kernel.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/websocket.h>

#define SERVER_ADDR4 "127.0.0.1"
#define DEFAULT_PORT 9001

/* Receive a message through a buffer much smaller than it, as devices do. */
#define RECV_CHUNK 32

static const char greeting_text[] =
    "The quick brown fox jumps over the lazy dog. Pack my box with five dozen "
    "liquor jugs. How vexingly quick daft zebras jump! Sphinx of black quartz, "
    "judge my vow. The five boxing wizards jump quickly. Jackdaws love my big "
    "sphinx of quartz. Waltz, bad nymph, for quick jigs vex.";

static uint8_t temp_recv_buf[512]; /* the connection's input buffer */
static uint8_t message[4096];
static uint8_t binary[3000];

static int connect_cb(int ws, struct http_request *req, void *user_data)
{
    ARG_UNUSED(req);
    printk("Websocket %d for %s connected.\n", ws, (const char *)user_data);
    return 0;
}

/* Reads one whole message into message[]; returns its length or -errno. */
static int recv_message(int ws, uint32_t *type_out)
{
    size_t total = 0;
    uint8_t chunk[RECV_CHUNK];
    for (;;) {
        uint32_t message_type = 0;
        uint64_t remaining = 0;
        int ret = websocket_recv_msg(ws, chunk, sizeof(chunk), &message_type, &remaining,
                                     3 * MSEC_PER_SEC);
        if (ret < 0)
            return ret;
        if (message_type & WEBSOCKET_FLAG_PING) {
            /* What a Zephyr application must do; wsc has already answered. */
            websocket_send_msg(ws, chunk, (size_t)ret, WEBSOCKET_OPCODE_PONG, true, true,
                               SYS_FOREVER_MS);
            continue;
        }
        if (message_type & (WEBSOCKET_FLAG_PONG | WEBSOCKET_FLAG_CLOSE))
            continue;
        if (total + (size_t)ret > sizeof(message))
            return -EMSGSIZE;
        memcpy(message + total, chunk, (size_t)ret);
        total += (size_t)ret;
        if (message_type & (WEBSOCKET_FLAG_TEXT | WEBSOCKET_FLAG_BINARY))
            *type_out = message_type & (WEBSOCKET_FLAG_TEXT | WEBSOCKET_FLAG_BINARY);
        if ((message_type & WEBSOCKET_FLAG_FINAL) && remaining == 0)
            return (int)total;
    }
}

static bool echo_matches(int ws, const uint8_t *data, size_t len, uint32_t want_type,
                         const char *what)
{
    uint32_t type = 0;
    int ret = recv_message(ws, &type);
    if (ret < 0) {
        printk("%s: receive failed (%d)\n", what, ret);
        return false;
    }
    if ((size_t)ret != len || memcmp(message, data, len) != 0 || type != want_type) {
        printk("%s: echo differs (%d bytes, type 0x%x)\n", what, ret, (unsigned)type);
        return false;
    }
    printk("%s: %d bytes echoed intact\n", what, ret);
    return true;
}

int main(void)
{
    const char *extra_headers[] = {"Origin: http://foobar\r\n", NULL};
    const char *port_env = getenv("SERVER_PORT"); /* the one line a port adds */
    int port = port_env ? atoi(port_env) : DEFAULT_PORT;
    struct sockaddr_in addr4;
    bool ok = true;

    int sock = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (sock < 0) {
        printk("Failed to create HTTP socket (%d)\n", -errno);
        return 1;
    }
    memset(&addr4, 0, sizeof(addr4));
    addr4.sin_family = AF_INET;
    addr4.sin_port = htons((uint16_t)port);
    zsock_inet_pton(AF_INET, SERVER_ADDR4, &addr4.sin_addr);
    if (zsock_connect(sock, (struct sockaddr *)&addr4, sizeof(addr4)) < 0) {
        printk("Cannot connect to %s:%d (%d)\n", SERVER_ADDR4, port, -errno);
        zsock_close(sock);
        return 1;
    }

    struct websocket_request req;
    memset(&req, 0, sizeof(req));
    req.host = SERVER_ADDR4;
    req.url = "/";
    req.optional_headers = extra_headers;
    req.cb = connect_cb;
    req.tmp_buf = temp_recv_buf;
    req.tmp_buf_len = sizeof(temp_recv_buf);

    int websock = websocket_connect(sock, &req, 3 * MSEC_PER_SEC, "IPv4");
    if (websock < 0) {
        printk("Cannot connect to %s:%d (%d)\n", SERVER_ADDR4, port, websock);
        zsock_close(sock);
        return 1;
    }

    /* Text, in growing prefixes of the greeting. */
    for (size_t amount = 1; ok && amount < sizeof(greeting_text); amount = amount * 3 + 7) {
        int ret = websocket_send_msg(websock, (const uint8_t *)greeting_text, amount,
                                     WEBSOCKET_OPCODE_DATA_TEXT, true, true, SYS_FOREVER_MS);
        if (ret != (int)amount) {
            printk("text send failed (%d)\n", ret);
            ok = false;
            break;
        }
        ok = echo_matches(websock, (const uint8_t *)greeting_text, amount,
                          WEBSOCKET_FLAG_TEXT, "text");
    }

    /* Binary, sent as three fragments of one message. */
    for (size_t i = 0; i < sizeof(binary); i++)
        binary[i] = (uint8_t)(i * 7 + 1);
    if (ok) {
        int r1 = websocket_send_msg(websock, binary, 1000, WEBSOCKET_OPCODE_DATA_BINARY, true,
                                    false, SYS_FOREVER_MS);
        int r2 = websocket_send_msg(websock, binary + 1000, 1000, WEBSOCKET_OPCODE_CONTINUE,
                                    true, false, SYS_FOREVER_MS);
        int r3 = websocket_send_msg(websock, binary + 2000, 1000, WEBSOCKET_OPCODE_CONTINUE,
                                    true, true, SYS_FOREVER_MS);
        ok = r1 == 1000 && r2 == 1000 && r3 == 1000 &&
             echo_matches(websock, binary, sizeof(binary), WEBSOCKET_FLAG_BINARY, "binary");
    }

    int ret = websocket_disconnect(websock);
    if (ret < 0) {
        printk("disconnect failed (%d)\n", ret);
        ok = false;
    }
    zsock_close(sock);
    printk("%s\n", ok ? "all echoes matched" : "FAILED");
    return ok ? 0 : 1;
}
