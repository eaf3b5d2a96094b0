/* The load generator's hot loop (docs/performance.md): floods a room and counts deliveries,
 * or sends latency probes and times them, over sockets that bench/loadgen.py already joined.
 *
 * The Python generator does the handshakes, then starts this program with the joined
 * clients' sockets inherited and a plain-text description on stdin:
 *
 *   mode flood|latency
 *   warmup SECONDS          (flood) time before the measured window
 *   duration SECONDS        the measured window (latency: how long probes are sent)
 *   gap SECONDS             (flood) sleep between polls, 0 for none
 *   window MESSAGES         (flood) a sender's messages the observer has not seen, at most
 *   rate PER_SECOND         (latency) probes per second
 *   conn FD WEBSOCKET ROLE [OBSERVER]
 *                           one per client; ROLE: r receiver, s sender, o observer, p prober;
 *                           a sender may name the FD of the observer that acks it (one
 *                           per room when several rooms are flooded at once); its tag's
 *                           letter is its rank among the senders of that observer
 *   batch HEX               (flood) one per sender, in order: `window` messages of one length
 *   probe HEX AT KEY        (latency) the probe's wire bytes; its 19 timestamp digits begin at
 *                           byte AT; KEY (8 hex digits) is the WebSocket mask the payload
 *                           byte at AT was XORed with (00000000 for other doors)
 *
 * It writes "begin" and "end" lines around the measured window (the Python side reads the
 * server's CPU at those instants), then one JSON object with the figures and its own CPU
 * time (getrusage). A delivery is one occurrence of the marker token in the raw byte
 * stream: each read lands in a buffer right after the last len(token)-1 bytes the client
 * received before (the carry), so a token split across reads is counted exactly once.
 * WebSocket pings are spotted in the raw stream as bench/websocket.py's spot_pings does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARKER "[^|^]"
#define MARKER_LEN 5
#define TAG_LEN (MARKER_LEN + 1)
#define CARRY (TAG_LEN - 1)
#define PROBE_HEAD MARKER "@"
#define PROBE_HEAD_LEN (MARKER_LEN + 1)
#define PROBE_DIGITS 19
/* A probe is its head, at most 20 digits and "!": keep one byte less across reads. */
#define PROBE_TAIL (PROBE_HEAD_LEN + 20)
#define LOOKBACK 3
#define RECV_BUFFER (1 << 18)
#define MAX_SENDERS 1024
#define MAX_TAGS 52
#define TAG_LETTERS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define PING_HEAD 0x89
#define TEXT_HEAD 0x81
#define LENGTH_16 126
#define MAX_CONTROL_PAYLOAD 125
/* Room for pongs queued behind a sender's batch. */
#define OUT_SPARE 4096
#define MAX_ERRORS 20

typedef unsigned char u8;

struct conn {
    int fd;
    int websocket;
    char role;
    /* A sender's observer's fd (-1: the only observer). */
    int watch;
    int alive;
    u8 carry[CARRY];
    u8 tail[PROBE_TAIL];
    size_t tail_len;
    u8 ping[2 + MAX_CONTROL_PAYLOAD];
    size_t ping_len;
    u8 *out;
    size_t out_len, out_cap;
};

static struct conn *conns;
static size_t nconns;
static struct conn **by_fd;
static int max_fd = -1;
static int epfd;
static u8 *buf;
static long long total, disconnects, reads;
/* Clients not yet disconnected: a phase ends early when none is left. */
static size_t alive;
static char errors[MAX_ERRORS][160];
static int nerrors;

/* flood */
static struct conn *senders[MAX_SENDERS];
static size_t nsenders;
static u8 *batches[MAX_SENDERS];
static size_t batch_len[MAX_SENDERS];
static long long acked[MAX_SENDERS];
/* Each sender's observer, and the letter of its tag. */
static struct conn *watcher[MAX_SENDERS];
static char letter[MAX_SENDERS];
static struct conn *observer;
static size_t nobservers;

/* latency */
static struct conn *prober;
static u8 *probe;
static size_t probe_len, probe_at;
static u8 probe_key[4];
static long long *read_lat, *arrival_lat;
static size_t nread_lat, narrival_lat, cap_read_lat, cap_arrival_lat;
static int probing;

static void die(const char *what) {
    fprintf(stderr, "fanout-loop: %s%s%s\n", what, errno ? ": " : "", errno ? strerror(errno) : "");
    exit(2);
}

static void *alloc(size_t size) {
    void *p = calloc(1, size);
    if (!p)
        die("out of memory");
    return p;
}

static double monotonic(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static double seconds_of(struct timeval tv) {
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return seconds_of(ru.ru_utime) + seconds_of(ru.ru_stime);
}

/* The kernel's share of our CPU time (system calls: mostly loopback TCP receive work). */
static double system_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return seconds_of(ru.ru_stime);
}

/* Occurrences of tok in b[start:end]. The search looks for tok's middle byte with memchr
 * (the bench's tokens are punctuation that no other byte of the stream is: "|" is met only
 * inside a marker), then compares the whole token around it; the bench's tokens cannot
 * overlap themselves, so every occurrence counts. */
static long long count_token(const u8 *b, size_t start, size_t end, const char *tok, size_t len) {
    size_t pivot = MARKER_LEN / 2; /* the "|" of the marker that every token begins with */
    long long n = 0;
    if (end - start < len)
        return 0;
    const u8 *p = b + start + pivot, *last = b + end - (len - pivot);
    while (p <= last) {
        const u8 *hit = memchr(p, tok[pivot], (size_t)(last - p) + 1);
        if (!hit)
            break;
        if (!memcmp(hit - pivot, tok, len)) {
            n++;
            p = hit + (len - pivot);
        } else
            p = hit + 1;
    }
    return n;
}

static void note_error(struct conn *c, const char *what) {
    if (nerrors < MAX_ERRORS)
        snprintf(errors[nerrors++], sizeof errors[0], "fd %d: %s", c->fd, what);
}

static void drop(struct conn *c) {
    if (!c->alive)
        return;
    c->alive = 0;
    alive--;
    disconnects++;
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
}

static void flush(struct conn *c) {
    if (!c->out_len || !c->alive)
        return;
    ssize_t sent = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    if (sent < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            note_error(c, strerror(errno));
            c->out_len = 0;
            drop(c);
        }
        return;
    }
    c->out_len -= (size_t)sent;
    memmove(c->out, c->out + sent, c->out_len);
}

static void queue(struct conn *c, const u8 *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        note_error(c, "output queue full");
        drop(c);
        return;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

static void pong(struct conn *c, const u8 *payload, size_t len) {
    u8 frame[2 + 4 + MAX_CONTROL_PAYLOAD];
    frame[0] = 0x80 | 0xA;
    frame[1] = 0x80 | (u8)len;
    for (int i = 0; i < 4; i++)
        frame[2 + i] = (u8)rand();
    for (size_t i = 0; i < len; i++)
        frame[6 + i] = payload[i] ^ frame[2 + i % 4];
    queue(c, frame, 6 + len);
}

/* Whether b[pos] is a byte of a text frame's 16-bit length (0x81 0x7E hi lo). */
static int is_length_byte(const u8 *b, size_t pos) {
    if (pos >= 2 && b[pos - 1] == LENGTH_16 && b[pos - 2] == TEXT_HEAD)
        return 1;
    return pos >= 3 && b[pos - 2] == LENGTH_16 && b[pos - 3] == TEXT_HEAD;
}

/* Pong every ping among b[start:end], new bytes of c's stream; b[start-LOOKBACK:start]
 * are the bytes before. Returns -1 for a ping the bench cannot follow. */
static int spot_pings(struct conn *c, const u8 *b, size_t start, size_t end) {
    size_t pos = start;
    if (c->ping_len) {
        if (c->ping_len < 2 && pos < end)
            c->ping[c->ping_len++] = b[pos++];
        if (c->ping_len < 2)
            return 0;
        if (c->ping[1] > MAX_CONTROL_PAYLOAD)
            return -1;
        size_t want = 2 + c->ping[1], take = want - c->ping_len;
        if (take > end - pos)
            take = end - pos;
        memcpy(c->ping + c->ping_len, b + pos, take);
        c->ping_len += take;
        pos += take;
        if (c->ping_len < want)
            return 0;
        pong(c, c->ping + 2, c->ping[1]);
        c->ping_len = 0;
    }
    while (pos < end) {
        const u8 *hit = memchr(b + pos, PING_HEAD, end - pos);
        if (!hit)
            break;
        size_t at = (size_t)(hit - b);
        if (is_length_byte(b, at)) {
            pos = at + 1;
            continue;
        }
        if (at + 2 <= end && b[at + 1] > MAX_CONTROL_PAYLOAD)
            return -1;
        if (at + 2 > end || at + 2 + b[at + 1] > end) {
            c->ping_len = end - at;
            memcpy(c->ping, b + at, c->ping_len);
            return 0;
        }
        pong(c, b + at + 2, b[at + 1]);
        pos = at + 2 + b[at + 1];
    }
    return 0;
}

static void answer_pings(struct conn *c, const u8 *b, size_t start, size_t end) {
    if (spot_pings(c, b, start, end) < 0) {
        note_error(c, "ping frame with a payload over 125 bytes");
        drop(c);
        return;
    }
    flush(c);
}

/* One read in the flood: count markers (and the observer's sender tags). */
static void read_counting(struct conn *c) {
    memcpy(buf, c->carry, CARRY);
    ssize_t n = recv(c->fd, buf + CARRY, RECV_BUFFER, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        drop(c);
        return;
    }
    size_t end = CARRY + (size_t)n;
    reads++;
    memcpy(c->carry, buf + n, CARRY);
    total += count_token(buf, CARRY - (MARKER_LEN - 1), end, MARKER, MARKER_LEN);
    if (c->role == 'o') {
        char tag[TAG_LEN];
        memcpy(tag, MARKER, MARKER_LEN);
        for (size_t i = 0; i < nsenders; i++) {
            if (watcher[i] != c)
                continue;
            tag[MARKER_LEN] = letter[i];
            acked[i] += count_token(buf, 0, end, tag, TAG_LEN);
        }
    }
    if (c->websocket)
        answer_pings(c, buf, CARRY, end);
}

static void keep_latency(long long **values, size_t *len, size_t *cap, long long value) {
    if (*len == *cap) {
        *cap = *cap ? *cap * 2 : 65536;
        *values = realloc(*values, *cap * sizeof **values);
        if (!*values)
            die("out of memory");
    }
    (*values)[(*len)++] = value;
}

/* One read in the latency phase: time every probe, by arrival stamp and by read time. */
static void read_probes(struct conn *c) {
    u8 *window = buf + PROBE_TAIL - c->tail_len;
    memcpy(window, c->tail, c->tail_len);
    struct iovec iov = {buf + PROBE_TAIL, RECV_BUFFER};
    union {
        char space[CMSG_SPACE(sizeof(struct timespec))];
        struct cmsghdr align;
    } control;
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control,
                         .msg_controllen = sizeof control};
    ssize_t n = recvmsg(c->fd, &msg, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    long long read_at = wall_ns();
    if (n <= 0) {
        drop(c);
        return;
    }
    long long arrival = 0;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(cm), sizeof ts);
            arrival = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
        }
    }
    size_t len = c->tail_len + (size_t)n, last = 0, pos = 0;
    if (c->websocket)
        answer_pings(c, window, c->tail_len, len);
    for (;;) {
        const u8 *hit = memmem(window + pos, len - pos, PROBE_HEAD, PROBE_HEAD_LEN);
        if (!hit)
            break;
        size_t digits = (size_t)(hit - window) + PROBE_HEAD_LEN, end = digits;
        long long sent = 0;
        while (end < len && end - digits <= 20 && window[end] >= '0' && window[end] <= '9')
            sent = sent * 10 + (window[end++] - '0');
        if (end == len)
            break; /* the rest of this probe is in the next read */
        pos = (size_t)(hit - window) + 1;
        if (window[end] != '!' || end == digits)
            continue;
        keep_latency(&read_lat, &nread_lat, &cap_read_lat, read_at - sent);
        if (arrival)
            keep_latency(&arrival_lat, &narrival_lat, &cap_arrival_lat, arrival - sent);
        last = pos = end + 1;
    }
    /* Keep what may begin a probe, and at least what the ping spotter looks back at. */
    size_t keep = len - last < PROBE_TAIL - 1 ? last : len - (PROBE_TAIL - 1);
    if (len - keep < LOOKBACK)
        keep = len < LOOKBACK ? 0 : len - LOOKBACK;
    c->tail_len = len - keep;
    memmove(c->tail, window + keep, c->tail_len);
}

static struct epoll_event *events;

/* Wait up to timeout milliseconds for readable clients and read each once. */
static void pump(int timeout) {
    int ready = epoll_wait(epfd, events, (int)nconns + 1, timeout);
    for (int i = 0; i < ready; i++) {
        struct conn *c = by_fd[events[i].data.fd];
        if (!c->alive)
            continue;
        if (probing)
            read_probes(c);
        else
            read_counting(c);
    }
}

static void emit(const char *line) {
    fputs(line, stdout);
    fflush(stdout);
}

static void sleep_seconds(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

static void print_tail(void) {
    printf(",\"disconnects\":%lld,\"dead\":[", disconnects);
    for (size_t i = 0, first = 1; i < nconns; i++) {
        if (!conns[i].alive) {
            printf("%s%d", first ? "" : ",", conns[i].fd);
            first = 0;
        }
    }
    printf("],\"errors\":[");
    for (int i = 0; i < nerrors; i++)
        printf("%s\"%s\"", i ? "," : "", errors[i]);
    printf("]}\n");
}

static void flood(double warmup, double duration, double gap, long long window) {
    long long sent[MAX_SENDERS] = {0}, last_acked[MAX_SENDERS] = {0};
    double last_progress[MAX_SENDERS] = {0};
    long long lost = 0, refill = window / 2 > 1 ? window / 2 : 1;
    long long total_at_begin = 0, messages_at_begin = 0, reads_at_begin = 0;
    double start = monotonic(), begin = 0, cpu_begin = 0, system_begin = 0;
    int begun = 0;
    for (;;) {
        double now = monotonic();
        if (!begun && (now >= start + warmup || !alive)) {
            begun = 1;
            emit("begin\n");
            begin = monotonic();
            cpu_begin = cpu_seconds();
            system_begin = system_seconds();
            total_at_begin = total;
            reads_at_begin = reads;
            for (size_t i = 0; i < nsenders; i++)
                messages_at_begin += sent[i];
        }
        if (now >= start + warmup + duration || !alive)
            break;
        for (size_t i = 0; i < nsenders; i++) {
            struct conn *c = senders[i];
            if (c->out_len) {
                flush(c);
                continue;
            }
            if (acked[i] != last_acked[i]) {
                last_acked[i] = acked[i];
                last_progress[i] = now;
            }
            long long in_flight = sent[i] > acked[i] ? sent[i] - acked[i] : 0;
            if (in_flight > 0 && now - last_progress[i] > 1.0) {
                /* Not seen within a second: lost, and its window slots freed. */
                lost += in_flight;
                acked[i] = last_acked[i] = sent[i];
                last_progress[i] = now;
                in_flight = 0;
            }
            long long room = window - in_flight;
            if (room >= refill && c->alive) {
                if (in_flight <= 0)
                    last_progress[i] = now;
                queue(c, batches[i], (size_t)room * (batch_len[i] / (size_t)window));
                sent[i] += room;
                flush(c);
            }
        }
        pump(10);
        if (gap > 0)
            sleep_seconds(gap);
    }
    double end = monotonic(), cpu = cpu_seconds() - cpu_begin;
    double system = system_seconds() - system_begin;
    long long deliveries = total - total_at_begin, messages = -messages_at_begin;
    long long reads_made = reads - reads_at_begin;
    for (size_t i = 0; i < nsenders; i++)
        messages += sent[i];
    emit("end\n");
    /* Let what is in flight arrive, so the next phase starts clean. */
    double drain_until = monotonic() + 2.0;
    while (alive) {
        int waiting = 0;
        for (size_t i = 0; i < nsenders; i++) {
            waiting |= acked[i] < sent[i];
            flush(senders[i]);
        }
        if (!waiting || monotonic() >= drain_until)
            break;
        pump(10);
    }
    printf("{\"seconds\":%.6f,\"deliveries\":%lld,\"messages\":%lld,\"lost\":%lld,"
           "\"reads\":%lld,\"cpu_seconds\":%.6f,\"system_seconds\":%.6f",
           end - begin, deliveries, messages, lost, reads_made, cpu, system);
    print_tail();
}

static int by_value(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of sorted values, nearest rank, in milliseconds; -1 when there are none. */
static double percentile_ms(const long long *sorted, size_t len, double q) {
    if (!len)
        return -1;
    double exact = q * (double)len;
    size_t rank = (size_t)exact;
    if ((double)rank < exact)
        rank++;
    if (rank < 1)
        rank = 1;
    if (rank > len)
        rank = len;
    return (double)sorted[rank - 1] / 1e6;
}

static void send_probe(void) {
    if (!prober->alive)
        return;
    u8 message[probe_len];
    memcpy(message, probe, probe_len);
    char digits[32];
    snprintf(digits, sizeof digits, "%0*lld", PROBE_DIGITS, wall_ns());
    for (size_t i = 0; i < PROBE_DIGITS; i++)
        message[probe_at + i] = (u8)digits[i] ^ probe_key[i % 4];
    queue(prober, message, probe_len);
    flush(prober);
}

static void latency(double rate, double duration) {
    int on = 1, off = 0;
    for (size_t i = 0; i < nconns; i++)
        setsockopt(conns[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    emit("begin\n");
    double cpu_begin = cpu_seconds(), start = monotonic(), next = start, interval = 1.0 / rate;
    long long probes = 0;
    probing = 1;
    for (;;) {
        double now = monotonic();
        if (now >= start + duration || !alive)
            break;
        if (now >= next) {
            send_probe();
            probes++;
            next += interval;
        }
        double wait = next - monotonic();
        pump(wait > 0 ? (int)(wait * 1000 + 0.999) : 0);
    }
    double drain_until = monotonic() + 1.0;
    while (alive && monotonic() < drain_until)
        pump(20);
    probing = 0;
    double cpu = cpu_seconds() - cpu_begin, seconds = monotonic() - start;
    emit("end\n");
    for (size_t i = 0; i < nconns; i++)
        setsockopt(conns[i].fd, SOL_SOCKET, SO_TIMESTAMPNS, &off, sizeof off);
    qsort(read_lat, nread_lat, sizeof *read_lat, by_value);
    qsort(arrival_lat, narrival_lat, sizeof *arrival_lat, by_value);
    const long long *arrival = narrival_lat ? arrival_lat : read_lat;
    size_t narrival = narrival_lat ? narrival_lat : nread_lat;
    printf("{\"seconds\":%.6f,\"probes\":%lld,\"deliveries\":%zu,\"stamped\":%zu,"
           "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"read_p50_ms\":%.3f,"
           "\"read_p99_ms\":%.3f,\"cpu_seconds\":%.6f",
           seconds, probes, nread_lat, narrival_lat, percentile_ms(arrival, narrival, 0.50),
           percentile_ms(arrival, narrival, 0.99),
           narrival ? (double)arrival[narrival - 1] / 1e6 : -1,
           percentile_ms(read_lat, nread_lat, 0.50), percentile_ms(read_lat, nread_lat, 0.99), cpu);
    print_tail();
}

static u8 *from_hex(const char *hex, size_t *len) {
    size_t n = strspn(hex, "0123456789abcdef");
    if (n % 2)
        die("odd hex string");
    u8 *bytes = alloc(n / 2 + 1);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            die("bad hex string");
        bytes[i] = (u8)v;
    }
    *len = n / 2;
    return bytes;
}

int main(void) {
    char mode[16] = "", *line = NULL;
    size_t line_cap = 0, conn_cap = 0;
    double warmup = 0, duration = 0, gap = 0, rate = 0;
    long long window = 0;
    while (getline(&line, &line_cap, stdin) > 0) {
        char key[16] = "", role = 0;
        int fd, websocket;
        size_t at;
        if (sscanf(line, "%15s", key) != 1)
            continue;
        if (!strcmp(key, "mode"))
            sscanf(line, "mode %15s", mode);
        else if (!strcmp(key, "warmup"))
            sscanf(line, "warmup %lf", &warmup);
        else if (!strcmp(key, "duration"))
            sscanf(line, "duration %lf", &duration);
        else if (!strcmp(key, "gap"))
            sscanf(line, "gap %lf", &gap);
        else if (!strcmp(key, "window"))
            sscanf(line, "window %lld", &window);
        else if (!strcmp(key, "rate"))
            sscanf(line, "rate %lf", &rate);
        else if (!strcmp(key, "conn")) {
            int watch = -1;
            int fields = sscanf(line, "conn %d %d %c %d", &fd, &websocket, &role, &watch);
            if (fields < 3 || fd < 0)
                die("bad conn line");
            if (nconns == conn_cap) {
                conn_cap = conn_cap ? conn_cap * 2 : 1024;
                conns = realloc(conns, conn_cap * sizeof *conns);
                if (!conns)
                    die("out of memory");
            }
            struct conn *c = &conns[nconns++];
            memset(c, 0, sizeof *c);
            c->fd = fd;
            c->websocket = websocket;
            c->role = role;
            c->watch = watch;
            c->alive = 1;
            alive++;
            if (fd > max_fd)
                max_fd = fd;
        } else if (!strcmp(key, "batch")) {
            if (nsenders == MAX_SENDERS)
                die("too many senders");
            batches[nsenders] = from_hex(line + 6, &batch_len[nsenders]);
            nsenders++;
        } else if (!strcmp(key, "probe")) {
            char *rest = line + 6;
            probe = from_hex(rest, &probe_len);
            size_t keylen;
            u8 *k = NULL;
            char keyhex[16];
            if (sscanf(rest + 2 * probe_len, " %zu %8s", &at, keyhex) != 2)
                die("bad probe line");
            k = from_hex(keyhex, &keylen);
            if (keylen != 4 || at + PROBE_DIGITS > probe_len)
                die("bad probe line");
            memcpy(probe_key, k, 4);
            free(k);
            probe_at = at;
        } else
            die("unknown line");
    }
    free(line);
    int is_flood = !strcmp(mode, "flood");
    if (!is_flood && strcmp(mode, "latency"))
        die("mode must be flood or latency");
    if (!nconns || (is_flood ? window <= 0 || !nsenders : rate <= 0 || !probe))
        die("incomplete description");
    buf = alloc(PROBE_TAIL + RECV_BUFFER);
    events = alloc((nconns + 1) * sizeof *events);
    by_fd = alloc((size_t)(max_fd + 1) * sizeof *by_fd);
    if ((epfd = epoll_create1(0)) < 0)
        die("epoll_create1");
    size_t sender_index = 0;
    for (size_t i = 0; i < nconns; i++) {
        struct conn *c = &conns[i];
        by_fd[c->fd] = c;
        if (c->role == 's') {
            if (sender_index == nsenders)
                die("more senders than batches");
            senders[sender_index] = c;
            c->out_cap = batch_len[sender_index++];
        } else if (c->role == 'o') {
            observer = c;
            nobservers++;
        }
        else if (c->role == 'p') {
            prober = c;
            c->out_cap = probe_len;
        }
        c->out_cap += OUT_SPARE;
        c->out = alloc(c->out_cap);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = c->fd};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0)
            die("epoll_ctl");
    }
    if (is_flood ? sender_index != nsenders || !observer : !prober)
        die("roles do not match the description");
    for (size_t i = 0; i < nsenders; i++) {
        int watch = senders[i]->watch;
        if (watch < 0 && nobservers != 1)
            die("a sender must name its observer when there are several");
        watcher[i] = watch < 0 ? observer : watch <= max_fd ? by_fd[watch] : NULL;
        if (!watcher[i] || watcher[i]->role != 'o')
            die("a sender's observer is not an observer");
        size_t rank = 0;
        for (size_t j = 0; j < i; j++)
            rank += watcher[j] == watcher[i];
        if (rank >= MAX_TAGS)
            die("too many senders for one observer");
        letter[i] = TAG_LETTERS[rank];
    }
    if (is_flood)
        flood(warmup, duration, gap, window);
    else
        latency(rate, duration);
    return 0;
}
