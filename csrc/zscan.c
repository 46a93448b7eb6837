/* zscan.c: master-file text -> zftable.h records (see zscan.h for the contract).
 *
 * The loop mirrors zonefile._Reader.read line by line, so each rule can be
 * checked against it: the owner column, [TTL] [class] type in either
 * order, TTL defaults ($TTL, then the last explicit TTL, then the SOA
 * minimum for the SOA itself), and parentheses that continue a record on
 * the next lines.  Field parsers mirror rdata.py's for the types big zones
 * are made of (A, AAAA, NS, CNAME, PTR, DNAME, MX, SRV, TXT, SPF, SOA, CAA,
 * and RFC 3597 rdata of types rdata.py has no parser for either).
 */
#define _GNU_SOURCE
#include "zscan.h"
#include "zfwire.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define RELEASE_STEP ((size_t)8 << 20) /* octets scanned between two madvise calls */

#define FAIL(why_) do { s->why = (why_); return -1; } while (0)

/* ---- type mnemonics ------------------------------------------------------- */

#define NTYPES 256
static struct {
    char name[16];
    uint16_t value;
    uint8_t used;
} types_tab[NTYPES];

static uint32_t mnemonic_hash(const char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)p[i]) * 16777619u;
    return h;
}

int zs_add_type(const char *mnemonic, uint16_t value)
{
    size_t n = strlen(mnemonic);
    if (n == 0 || n >= sizeof(types_tab[0].name))
        return -1;
    for (uint32_t i = mnemonic_hash(mnemonic, n) % NTYPES, k = 0; k < NTYPES; k++, i = (i + 1) % NTYPES) {
        if (!types_tab[i].used) {
            memcpy(types_tab[i].name, mnemonic, n + 1);
            types_tab[i].value = value;
            types_tab[i].used = 1;
            return 0;
        }
        if (strcmp(types_tab[i].name, mnemonic) == 0) {
            types_tab[i].value = value;
            return 0;
        }
    }
    return -1;
}

/* `up` is upper-cased; -1 when it is no mnemonic */
static int type_lookup(const char *up, size_t n)
{
    if (n == 0 || n >= sizeof(types_tab[0].name))
        return -1;
    for (uint32_t i = mnemonic_hash(up, n) % NTYPES, k = 0; k < NTYPES; k++, i = (i + 1) % NTYPES) {
        if (!types_tab[i].used)
            return -1;
        if (memcmp(types_tab[i].name, up, n) == 0 && types_tab[i].name[n] == 0)
            return types_tab[i].value;
    }
    return -1;
}

/* types rdata.py parses itself (its _SCHEMAS, LOC, SVCB, HTTPS): RFC 3597
 * rdata for them must be valid rdata of the type (§5), which rdata.py checks */
static int has_presentation_parser(uint16_t t)
{
    switch (t) {
    case 1: case 2: case 5: case 6: case 12: case 13: case 14: case 15: case 16: case 17:
    case 18: case 21: case 28: case 29: case 33: case 35: case 36: case 37: case 39: case 43:
    case 44: case 46: case 47: case 48: case 49: case 50: case 51: case 52: case 53: case 59:
    case 60: case 61: case 63: case 64: case 65: case 99: case 256: case 257: case 32769:
        return 1;
    default:
        return 0;
    }
}

static int is_meta(uint16_t t)
{
    return t == 0 || t == 41 || (t >= 128 && t <= 255);
}

/* ---- scanner state ---------------------------------------------------------- */

int zs_init(zs_scanner_t *s, zf_table_t *t, uint16_t zone)
{
    memset(s, 0, sizeof(*s));
    s->t = t;
    s->zone = zone;
    s->dollar_ttl = -1;
    s->last_ttl = -1;
    return 0;
}

void zs_free(zs_scanner_t *s)
{
    zbuf_free(&s->tokbuf);
    zbuf_free(&s->wire);
    free(s->toks);
    s->toks = NULL;
}

/* rdata.scan_line's \s, for ASCII (other octets outside quotes stop the scan) */
static inline int is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == 0x0b || c == 0x0c || (c >= 0x1c && c <= 0x1f);
}

/* an octet that continues an unquoted token as itself: not blank, not
 * ( ) ; " \\, not NUL, ASCII (filled by zs_scan on first use) */
static uint8_t plain_octet[256];
static int plain_ready;

static void fill_plain(void)
{
    for (int c = 1; c < 0x80; c++)
        plain_octet[c] = !is_ws((uint8_t)c) && c != '(' && c != ')' && c != ';' && c != '"' &&
                         c != '\\' && c != '\n';
    plain_ready = 1;
}

static inline int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static inline int new_tok(zs_scanner_t *s, int quoted)
{
    if (s->ntoks == s->captoks) {
        int cap = s->captoks ? s->captoks * 2 : 64;
        zs_tok_t *t = realloc(s->toks, (size_t)cap * sizeof(zs_tok_t));
        if (t == NULL)
            return -1;
        s->toks = t;
        s->captoks = cap;
    }
    zs_tok_t *t = &s->toks[s->ntoks++];
    t->src = NULL;
    t->off = (uint32_t)s->tokbuf.len;
    t->len = 0;
    t->quoted = (uint8_t)quoted;
    t->nonascii = 0;
    return 0;
}

/* scan_line reserves room for the whole line first */
static inline int tok_byte(zs_scanner_t *s, uint8_t c)
{
    s->tokbuf.p[s->tokbuf.len++] = c;
    zs_tok_t *t = &s->toks[s->ntoks - 1];
    t->len++;
    if (c >= 0x80)
        t->nonascii = 1;
    return 0;
}

/* The content of a quoted run starting after its opening quote: escapes
 * kept, up to the closing quote; returns the position after it, or NULL
 * when the line ends first (an unterminated string, an error). */
static const uint8_t *quoted_run(zs_scanner_t *s, const uint8_t *p, const uint8_t *e)
{
    while (p < e) {
        uint8_t c = *p;
        if (c == '"')
            return p + 1;
        if (c == '\\') {
            if (p + 1 >= e)
                return NULL;
            if (tok_byte(s, c) != 0 || tok_byte(s, p[1]) != 0)
                return NULL;
            p += 2;
            continue;
        }
        if (tok_byte(s, c) != 0)
            return NULL;
        p++;
    }
    return NULL;
}

/* One physical line into tokens (rdata.scan_line); `depth` is the
 * parenthesis nesting carried across lines.  `newline`: *e is the line's
 * '\n' (not the end of the text), which no plain run goes past, so the
 * hot loop below needs no bound check (~1.5 instructions an octet). */
static int scan_line(zs_scanner_t *s, const uint8_t *p, const uint8_t *e, int *depth,
                     int newline)
{
    if (zbuf_reserve(&s->tokbuf, (size_t)(e - p) + 1) != 0)
        FAIL("out of memory");
    while (p < e) {
        uint8_t c = *p;
        if (is_ws(c)) {
            p++;
        } else if (c == '"') {
            if (new_tok(s, 1) != 0)
                FAIL("out of memory");
            p = quoted_run(s, p + 1, e);
            if (p == NULL)
                FAIL("unterminated quoted string");
        } else if (c == '(') {
            (*depth)++;
            p++;
        } else if (c == ')') {
            if (*depth == 0)
                FAIL("')' without '('");
            (*depth)--;
            p++;
        } else if (c == ';') {
            return 0;
        } else {
            if (new_tok(s, 0) != 0)
                FAIL("out of memory");
            /* most tokens are one run of plain octets: read in place (the
             * text stays mapped until the record is added); a token that
             * goes on with an escape or a quote is copied from here on */
            const uint8_t *r = p;
            if (newline) {
                while (plain_octet[*r])
                    r++;
            } else {
                while (r < e && plain_octet[*r])
                    r++;
            }
            if (r == e || (*r != '\\' && *r != '"' && *r < 0x80 && *r != 0)) {
                zs_tok_t *t = &s->toks[s->ntoks - 1];
                t->src = (const char *)p;
                t->len = (uint32_t)(r - p);
                p = r;
                continue;
            }
            while (p < e) {
                /* runs of plain octets: copied at once */
                const uint8_t *r = p;
                while (r < e && plain_octet[*r])
                    r++;
                if (r > p) {
                    size_t k = (size_t)(r - p);
                    memcpy(s->tokbuf.p + s->tokbuf.len, p, k);
                    s->tokbuf.len += k;
                    s->toks[s->ntoks - 1].len += (uint32_t)k;
                    p = r;
                    if (p >= e)
                        break;
                }
                c = *p;
                if (c == '\\') {
                    if (p + 1 >= e)
                        FAIL("backslash at end of line");
                    if (p[1] >= 0x80)
                        FAIL("escaped non-ASCII outside quotes");
                    if (tok_byte(s, c) != 0 || tok_byte(s, p[1]) != 0)
                        FAIL("out of memory");
                    p += 2;
                } else if (c == '"') {
                    /* key="a b": the quotes go, the content stays in the token */
                    p = quoted_run(s, p + 1, e);
                    if (p == NULL)
                        FAIL("unterminated quoted string");
                } else if (is_ws(c) || c == '(' || c == ')' || c == ';') {
                    break;
                } else {
                    if (c >= 0x80)
                        FAIL("non-ASCII outside quotes");
                    if (c == 0)
                        FAIL("NUL octet");
                    if (tok_byte(s, c) != 0)
                        FAIL("out of memory");
                    p++;
                }
            }
        }
    }
    return 0;
}

/* ---- fields ------------------------------------------------------------------ */

static int tok_is(const zs_scanner_t *s, const zs_tok_t *t, const char *word)
{
    size_t n = strlen(word);
    return t->len == n && memcmp(zs_tok_text(s, t), word, n) == 0;
}

/* rdata._int: ASCII digits, at most `top` */
static int parse_uint(const char *p, size_t n, uint64_t top, uint64_t *out)
{
    if (n == 0)
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((uint8_t)p[i]))
            return -1;
        v = v * 10 + (uint64_t)(p[i] - '0');
        if (v > top)
            return -1;
    }
    *out = v;
    return 0;
}

/* rdata.ttl_from_text: seconds, or units such as 1h30m (no bare tail) */
static int parse_ttl(const char *p, size_t n, uint64_t top, uint64_t *out)
{
    if (parse_uint(p, n, top, out) == 0)
        return 0;
    uint64_t total = 0;
    size_t i = 0;
    if (n == 0)
        return -1;
    while (i < n) {
        uint64_t v = 0;
        size_t start = i;
        while (i < n && is_digit((uint8_t)p[i])) {
            v = v * 10 + (uint64_t)(p[i] - '0');
            if (v > top)
                return -1;
            i++;
        }
        if (i == start || i >= n)
            return -1;
        uint64_t unit;
        switch (p[i] | 0x20) {
        case 's': unit = 1; break;
        case 'm': unit = 60; break;
        case 'h': unit = 3600; break;
        case 'd': unit = 86400; break;
        case 'w': unit = 604800; break;
        default: return -1;
        }
        i++;
        total += v * unit;
        if (total > top)
            return -1;
    }
    *out = total;
    return 0;
}

/* model.name_from_text into `out` (case kept): its length, or -1 */
static int parse_name(const char *p, size_t n, const uint8_t *origin, int olen, uint8_t *out)
{
    if (n == 1 && p[0] == '@') {
        if (olen < 0)
            return -1;
        memcpy(out, origin, (size_t)olen);
        return olen;
    }
    if (n == 1 && p[0] == '.') {
        out[0] = 0;
        return 1;
    }
    size_t w = 0;      /* octets written */
    size_t lab = 0;    /* where the current label's length octet is */
    size_t cur = 0;    /* octets in the current label */
    int absolute = 0;
    for (size_t i = 0; i < n;) {
        /* a run of plain label octets at once (most names are nothing
         * else): the same limits as octet by octet below */
        size_t j = i;
        while (j < n && p[j] != '.' && p[j] != '\\')
            j++;
        if (j > i) {
            size_t k = j - i;
            if (cur == 0) {
                lab = w;
                w++;
            }
            if (cur + k > 63 || w + k > 255)
                return -1;
            memcpy(out + w, p + i, k);
            w += k;
            cur += k;
            i = j;
            continue;
        }
        uint8_t c = (uint8_t)p[i];
        uint8_t v;
        if (c == '\\') {
            if (i + 4 <= n && is_digit((uint8_t)p[i + 1]) &&
                is_digit((uint8_t)p[i + 2]) && is_digit((uint8_t)p[i + 3])) {
                int d = (p[i + 1] - '0') * 100 + (p[i + 2] - '0') * 10 + (p[i + 3] - '0');
                if (d > 255)
                    return -1;
                v = (uint8_t)d;
                i += 4;
            } else {
                if (i + 1 >= n)
                    return -1;
                v = (uint8_t)p[i + 1];
                if (v >= 0x80)
                    return -1;
                i += 2;
            }
        } else if (c == '.') {
            if (cur == 0)
                return -1;
            out[lab] = (uint8_t)cur;
            cur = 0;
            if (i == n - 1)
                absolute = 1;
            i++;
            continue;
        } else {
            v = c;
            i++;
        }
        if (cur == 0) {
            lab = w;
            w++;
        }
        if (cur == 63 || w >= 255)
            return -1;
        out[w++] = v;
        cur++;
    }
    if (cur)
        out[lab] = (uint8_t)cur;
    /* w octets of labels */
    if (absolute) {
        if (w + 1 > 255)
            return -1;
        out[w] = 0;
        return (int)w + 1;
    }
    if (olen < 0 || w + (size_t)olen > 255)
        return -1;
    memcpy(out + w, origin, (size_t)olen);
    return (int)w + olen;
}

/* rdata.unescape into `out`: \DDD and \X (a digit X is an error) */
static int unescape(const char *p, size_t n, zbuf_t *out)
{
    if (zbuf_reserve(out, n) != 0)
        return -1;
    for (size_t i = 0; i < n;) {
        uint8_t c = (uint8_t)p[i];
        if (c != '\\') {
            out->p[out->len++] = c;
            i++;
            continue;
        }
        if (i + 1 >= n)
            return -1;
        if (i + 4 <= n && is_digit((uint8_t)p[i + 1]) && is_digit((uint8_t)p[i + 2]) &&
            is_digit((uint8_t)p[i + 3])) {
            int d = (p[i + 1] - '0') * 100 + (p[i + 2] - '0') * 10 + (p[i + 3] - '0');
            if (d > 255)
                return -1;
            out->p[out->len++] = (uint8_t)d;
            i += 4;
            continue;
        }
        uint8_t x = (uint8_t)p[i + 1];
        if (is_digit(x) || x >= 0x80)
            return -1;
        out->p[out->len++] = x;
        i += 2;
    }
    return 0;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* ---- rdata ------------------------------------------------------------------- */

static int put_u16(zbuf_t *w, uint64_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return zbuf_put(w, b, 2);
}

static int put_u32(zbuf_t *w, uint64_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return zbuf_put(w, b, 4);
}

static int put_name(zs_scanner_t *s, const zs_tok_t *t, const uint8_t *origin, int olen)
{
    uint8_t name[256];
    if (t->nonascii)
        return -1;
    int n = parse_name(zs_tok_text(s, t), t->len, origin, olen, name);
    if (n < 0)
        return -1;
    return zbuf_put(&s->wire, name, (size_t)n);
}

static int put_int(zs_scanner_t *s, const zs_tok_t *t, uint64_t top, int octets)
{
    uint64_t v;
    if (t->nonascii || parse_uint(zs_tok_text(s, t), t->len, top, &v) != 0)
        return -1;
    if (octets == 1)
        return zbuf_put(&s->wire, (uint8_t[]){(uint8_t)v}, 1);
    return octets == 2 ? put_u16(&s->wire, v) : put_u32(&s->wire, v);
}

/* A dotted quad, accepted and refused exactly as glibc's inet_pton(AF_INET)
 * does (four decimal octets <= 255, no leading zero, nothing else), without
 * its copy to a NUL-terminated buffer: inet_pton was ~250 instructions of
 * the ~6,800 per name of a 100k-name zone (callgrind, bench/RESULTS.md §9).
 * tests/unit/snapshot/test_scan_addresses.py holds it to inet_pton. */
static int parse_ipv4(const char *p, size_t n, uint8_t out[4])
{
    /* octet by octet, each a run of digits: ~100 instructions an address
     * where a state machine over every character took ~270 */
    const unsigned char *c = (const unsigned char *)p, *e = c + n;
    for (int k = 0; k < 4; k++) {
        if (k > 0) {
            if (c >= e || *c != '.')
                return -1;
            c++;
        }
        if (c >= e || (unsigned)(*c - '0') > 9)
            return -1;
        unsigned val = (unsigned)(*c++ - '0');
        while (c < e && (unsigned)(*c - '0') <= 9) {
            if (val == 0)
                return -1; /* a leading zero */
            val = val * 10 + (unsigned)(*c++ - '0');
            if (val > 255)
                return -1;
        }
        out[k] = (uint8_t)val;
    }
    return c == e ? 0 : -1;
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* An IPv6 address, accepted and refused exactly as glibc's inet_pton(AF_INET6)
 * does: groups of 1-4 hex digits, one "::", a dotted quad in the last 32
 * bits; ~700 instructions an address there (its copy and checks). */
static int parse_ipv6(const char *p, size_t n, uint8_t out[16])
{
    uint8_t tmp[16] = {0};
    size_t tp = 0, colonp = SIZE_MAX, i = 0, curtok, digits = 0;
    unsigned val = 0;
    if (n == 0)
        return -1;
    if (p[0] == ':') {
        if (n < 2 || p[1] != ':')
            return -1;
        i = 1;
    }
    curtok = i;
    while (i < n) {
        unsigned char ch = (unsigned char)p[i++];
        int d = hex_value(ch);
        if (d >= 0) {
            if (digits == 4)
                return -1;
            val = val << 4 | (unsigned)d;
            digits++;
            continue;
        }
        if (ch == ':') {
            curtok = i;
            if (digits == 0) {
                if (colonp != SIZE_MAX)
                    return -1;
                colonp = tp;
                continue;
            }
            if (i == n || tp + 2 > 16)
                return -1;
            tmp[tp++] = (uint8_t)(val >> 8);
            tmp[tp++] = (uint8_t)val;
            digits = 0;
            val = 0;
            continue;
        }
        if (ch == '.' && tp + 4 <= 16 && parse_ipv4(p + curtok, n - curtok, tmp + tp) == 0) {
            tp += 4;
            digits = 0;
            break;
        }
        return -1;
    }
    if (digits > 0) {
        if (tp + 2 > 16)
            return -1;
        tmp[tp++] = (uint8_t)(val >> 8);
        tmp[tp++] = (uint8_t)val;
    }
    if (colonp != SIZE_MAX) {
        if (tp == 16)
            return -1; /* "::" standing for no group at all */
        size_t moved = tp - colonp;
        memmove(tmp + 16 - moved, tmp + colonp, moved);
        memset(tmp + colonp, 0, 16 - moved - colonp);
        tp = 16;
    }
    if (tp != 16)
        return -1;
    memcpy(out, tmp, 16);
    return 0;
}

static int put_addr(zs_scanner_t *s, const zs_tok_t *t, int family)
{
    uint8_t addr[16];
    if (family == AF_INET) {
        if (t->nonascii || parse_ipv4(zs_tok_text(s, t), t->len, addr) != 0)
            return -1;
        return zbuf_put(&s->wire, addr, 4);
    }
    if (t->nonascii || parse_ipv6(zs_tok_text(s, t), t->len, addr) != 0)
        return -1;
    return zbuf_put(&s->wire, addr, 16);
}

/* <character-string>s: unescaped, each at most 255 octets */
static int put_cstr(zs_scanner_t *s, const zs_tok_t *t)
{
    size_t at = s->wire.len;
    if (zbuf_put(&s->wire, "", 1) != 0)
        return -1;
    if (t->nonascii && memchr(zs_tok_text(s, t), '\\', t->len) != NULL)
        return -1; /* \X with a non-ASCII X: rdata.py's digit test is Unicode */
    if (unescape(zs_tok_text(s, t), t->len, &s->wire) != 0)
        return -1;
    size_t n = s->wire.len - at - 1;
    if (n > 255)
        return -1;
    s->wire.p[at] = (uint8_t)n;
    return 0;
}

/* RFC 3597 §5 for a type without a presentation parser: \# len hex... */
static int put_generic(zs_scanner_t *s, const zs_tok_t *toks, int n)
{
    uint64_t len;
    if (n < 2 || toks[1].nonascii || parse_uint(zs_tok_text(s, &toks[1]), toks[1].len, 0xFFFF, &len) != 0)
        return -1;
    int hi = -1;
    for (int i = 2; i < n; i++) {
        const zs_tok_t *t = &toks[i];
        if (t->quoted || t->nonascii)
            return -1; /* bytes.fromhex skips spaces a quoted token may hold */
        const uint8_t *p = (const uint8_t *)zs_tok_text(s, t);
        for (uint32_t j = 0; j < t->len; j++) {
            int v = hexval(p[j]);
            if (v < 0)
                return -1;
            if (hi < 0) {
                hi = v;
            } else {
                if (zbuf_put(&s->wire, (uint8_t[]){(uint8_t)(hi << 4 | v)}, 1) != 0)
                    return -1;
                hi = -1;
            }
        }
    }
    if (hi >= 0 || s->wire.len != len)
        return -1;
    return 0;
}

/* rdata.from_tokens for the types above; 1: not handled here */
static int parse_rdata(zs_scanner_t *s, uint16_t type, const zs_tok_t *toks, int n,
                       const uint8_t *origin, int olen)
{
    s->wire.len = 0;
    if (n > 0 && !toks[0].quoted && tok_is(s, &toks[0], "\\#")) {
        if (is_meta(type))
            return -1;
        if (has_presentation_parser(type))
            return 1;
        return put_generic(s, toks, n);
    }
    switch (type) {
    case ZT_A:
        return n == 1 ? put_addr(s, &toks[0], AF_INET) : -1;
    case ZT_AAAA:
        return n == 1 ? put_addr(s, &toks[0], AF_INET6) : -1;
    case ZT_NS: case ZT_CNAME: case ZT_PTR: case ZT_DNAME:
        return n == 1 ? put_name(s, &toks[0], origin, olen) : -1;
    case ZT_MX:
        if (n != 2 || put_int(s, &toks[0], 0xFFFF, 2) != 0)
            return -1;
        return put_name(s, &toks[1], origin, olen);
    case ZT_SRV:
        if (n != 4)
            return -1;
        for (int i = 0; i < 3; i++)
            if (put_int(s, &toks[i], 0xFFFF, 2) != 0)
                return -1;
        return put_name(s, &toks[3], origin, olen);
    case ZT_TXT: case 99:
        if (n < 1)
            return -1;
        for (int i = 0; i < n; i++)
            if (put_cstr(s, &toks[i]) != 0)
                return -1;
        return 0;
    case ZT_SOA:
        if (n != 7 || put_name(s, &toks[0], origin, olen) != 0 || put_name(s, &toks[1], origin, olen) != 0
            || put_int(s, &toks[2], 0xFFFFFFFFu, 4) != 0)
            return -1;
        for (int i = 3; i < 7; i++) {
            uint64_t v;
            if (toks[i].nonascii || parse_ttl(zs_tok_text(s, &toks[i]), toks[i].len, 0xFFFFFFFFu, &v) != 0
                || put_u32(&s->wire, v) != 0)
                return -1;
        }
        return 0;
    case 257: { /* CAA: flags, tag (letters and digits, unquoted), one value */
        if (n != 3 || put_int(s, &toks[0], 0xFF, 1) != 0)
            return -1;
        const zs_tok_t *tag = &toks[1];
        const uint8_t *p = (const uint8_t *)zs_tok_text(s, tag);
        if (tag->quoted || tag->len == 0 || tag->len > 255)
            return -1;
        for (uint32_t i = 0; i < tag->len; i++) {
            uint8_t c = p[i] | 0x20;
            if (!is_digit(p[i]) && !(c >= 'a' && c <= 'z'))
                return -1;
        }
        if (zbuf_put(&s->wire, (uint8_t[]){(uint8_t)tag->len}, 1) != 0 ||
            zbuf_put(&s->wire, p, tag->len) != 0)
            return -1;
        if (toks[2].nonascii && memchr(zs_tok_text(s, &toks[2]), '\\', toks[2].len) != NULL)
            return -1;
        return unescape(zs_tok_text(s, &toks[2]), toks[2].len, &s->wire);
    }
    default:
        return 1;
    }
}

/* ---- the record loop ------------------------------------------------------------ */

static uint32_t soa_minimum(const uint8_t *w, size_t n)
{
    const uint8_t *p = w + n - 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Python decodes each file as UTF-8 before reading it; the scanner never
 * needs to, but must refuse what Python refuses (then Python reports it). */
static int valid_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t min;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; min = 0x10000; }
        else return 0;
        if (i + k >= n)
            return 0;
        uint32_t cp = c & (0x3F >> k);
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n || (p[i + j] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static int upper_tok(const zs_scanner_t *s, const zs_tok_t *t, char *up, size_t cap)
{
    if (t->nonascii || t->len >= cap)
        return -1;
    const char *p = zs_tok_text(s, t);
    for (uint32_t i = 0; i < t->len; i++) {
        char c = p[i];
        up[i] = (c >= 'a' && c <= 'z') ? (char)(c - 32) : c;
    }
    up[t->len] = 0;
    return (int)t->len;
}

/* a TTL in the TTL/class/type columns: ttl_from_text (RFC 2181 §8 max) */
static int column_ttl(zs_scanner_t *s, const zs_tok_t *t, int64_t *ttl)
{
    uint64_t v;
    if (t->nonascii || parse_ttl(zs_tok_text(s, t), t->len, 0x7FFFFFFF, &v) != 0)
        return -1;
    *ttl = (int64_t)v;
    return 0;
}

static inline int starts_digit(const zs_scanner_t *s, const zs_tok_t *t)
{
    return t->len > 0 && is_digit((uint8_t)zs_tok_text(s, t)[0]);
}

int zs_scan(zs_scanner_t *s, const uint8_t *text, size_t len, const uint8_t *origin_in,
            int origin_len, int depth)
{
    uint8_t origin[256];
    int olen = origin_len;
    zf_table_t *t = s->t;
    uint32_t owner = ZF_NONE;
    zbuf_t owner_text = {0};  /* the owner column's token, while the origin stays */
    int have_owner_text = 0;
    uint32_t line = 0;
    const uint8_t *pos = text, *end = text + len;
    int rc = -1;
    /* only this call's text: an $INCLUDE's nested call must not drop its
     * own (heap) text */
    int release = s->release_behind;
    const uint8_t *released = text; /* page-aligned: the mapping's start */
    size_t page = release ? (size_t)sysconf(_SC_PAGESIZE) : 1;
    s->release_behind = 0;

    if (olen >= 0)
        memcpy(origin, origin_in, (size_t)olen);
    if (!plain_ready)
        fill_plain();
    if (memchr(text, 0, len) != NULL) {
        s->why = "NUL octet";
        return -1;
    }
    size_t i = 0;
    for (; i + 8 <= len; i += 8) { /* a word at a time until a non-ASCII octet */
        uint64_t w;
        memcpy(&w, text + i, 8);
        if (w & 0x8080808080808080ULL)
            break;
    }
    for (; i < len; i++) {
        if (text[i] >= 0x80) {
            if (!valid_utf8(text + i, len - i)) {
                s->why = "not UTF-8";
                return -1;
            }
            break;
        }
    }
#undef FAIL
#define FAIL(why_) do { s->why = (why_); s->why_line = line; goto out; } while (0)
    while (pos < end) {
        const uint8_t *ls = pos;
        if (release && (size_t)(ls - released) >= RELEASE_STEP) {
            /* no token or name points into the text once its record is
             * read (tokens read in place live until the next record; the
             * record is copied into the table, its owner into owner_text) */
            size_t n = (size_t)(ls - released) / page * page;
            (void)madvise((void *)released, n, MADV_DONTNEED);
            released += n;
        }
        const uint8_t *nl = memchr(pos, '\n', (size_t)(end - pos));
        const uint8_t *le = nl ? nl : end;
        pos = nl ? nl + 1 : end;
        line++;
        uint32_t rec_line = line;
        int parens = 0;
        s->ntoks = 0;
        s->tokbuf.len = 0;
        if (scan_line(s, ls, le, &parens, nl != NULL) != 0) {
            s->why_line = line;
            goto out;
        }
        while (parens) {
            if (pos >= end)
                FAIL("'(' without ')'");
            const uint8_t *l2 = pos;
            nl = memchr(pos, '\n', (size_t)(end - pos));
            const uint8_t *e2 = nl ? nl : end;
            pos = nl ? nl + 1 : end;
            line++;
            if (scan_line(s, l2, e2, &parens, nl != NULL) != 0) {
                s->why_line = line;
                goto out;
            }
        }
        (void)rec_line;
        if (s->ntoks == 0)
            continue;
        zs_tok_t *toks = s->toks;
        int n = s->ntoks, i = 0;
        if (ls[0] == ' ' || ls[0] == '\t') {
            if (owner == ZF_NONE)
                FAIL("no owner to reuse");
        } else {
            const zs_tok_t *o = &toks[0];
            const char *ot = zs_tok_text(s, o);
            i = 1;
            if (o->quoted || o->nonascii || o->len == 0)
                FAIL("unusual owner column");
            if (!(have_owner_text && owner_text.len == o->len && memcmp(owner_text.p, ot, o->len) == 0)) {
                if (ot[0] == '$') {
                    char word[16];
                    if (upper_tok(s, o, word, sizeof(word)) < 0)
                        FAIL("unknown directive");
                    if (strcmp(word, "$ORIGIN") == 0) {
                        uint8_t name[256];
                        int nn;
                        if (n != 2 || toks[1].nonascii ||
                            (nn = parse_name(zs_tok_text(s, &toks[1]), toks[1].len, origin, olen, name)) < 0)
                            FAIL("bad $ORIGIN");
                        memcpy(origin, name, (size_t)nn);
                        olen = nn;
                        have_owner_text = 0;
                    } else if (strcmp(word, "$TTL") == 0) {
                        int64_t v;
                        if (n != 2 || column_ttl(s, &toks[1], &v) != 0)
                            FAIL("bad $TTL");
                        s->dollar_ttl = v;
                    } else if (strcmp(word, "$INCLUDE") == 0) {
                        if (n < 2 || n > 3 || s->include_fn == NULL)
                            FAIL("bad $INCLUDE");
                        if (s->include_fn(s, toks + 1, n - 1, origin, olen, depth) != 0) {
                            if (s->why == NULL)
                                s->why = "$INCLUDE";
                            goto out;
                        }
                    } else {
                        FAIL("unknown directive");
                    }
                    continue;
                }
                uint8_t name[256], low[256];
                int nn = parse_name(ot, o->len, origin, olen, name);
                if (nn < 0)
                    FAIL("bad owner name");
                zf_fold_copy(low, name, (size_t)nn); /* zfwire.h: a word at a time */
                owner = zf_intern(t, low, (size_t)nn);
                if (owner == ZF_NONE)
                    FAIL("out of memory");
                owner_text.len = 0;
                if (zbuf_put(&owner_text, ot, o->len) != 0)
                    FAIL("out of memory");
                have_owner_text = 1;
            }
        }
        /* [TTL] [class] type, or [class] [TTL] type (RFC 1035 §5.1) */
        int64_t ttl = -1;
        char up[24];
        if (i >= n)
            FAIL("missing type");
        if (starts_digit(s, &toks[i])) {
            if (column_ttl(s, &toks[i], &ttl) != 0)
                FAIL("bad TTL");
            if (++i >= n)
                FAIL("missing type");
        }
        if (tok_is(s, &toks[i], "IN")) {
            if (++i >= n)
                FAIL("missing type");
            if (ttl < 0 && starts_digit(s, &toks[i])) {
                if (column_ttl(s, &toks[i], &ttl) != 0)
                    FAIL("bad TTL");
                if (++i >= n)
                    FAIL("missing type");
            }
        }
        int ul = upper_tok(s, &toks[i], up, sizeof(up));
        if (ul <= 0)
            FAIL("bad type");
        int type = type_lookup(up, (size_t)ul);
        if (type < 0) {
            if (strcmp(up, "IN") == 0 || strcmp(up, "CH") == 0 || strcmp(up, "CS") == 0 ||
                strcmp(up, "HS") == 0 || strncmp(up, "CLASS", 5) == 0) {
                uint64_t cls;
                if (strcmp(up, "IN") != 0 &&
                    !(strncmp(up, "CLASS", 5) == 0 && parse_uint(up + 5, (size_t)ul - 5, 0xFFFF, &cls) == 0 && cls == 1))
                    FAIL("class other than IN");
                if (++i >= n)
                    FAIL("missing type");
                if (ttl < 0 && starts_digit(s, &toks[i])) {
                    if (column_ttl(s, &toks[i], &ttl) != 0)
                        FAIL("bad TTL");
                    if (++i >= n)
                        FAIL("missing type");
                }
                ul = upper_tok(s, &toks[i], up, sizeof(up));
                if (ul <= 0)
                    FAIL("bad type");
                type = type_lookup(up, (size_t)ul);
            }
            if (type < 0) {
                uint64_t v;
                if (strncmp(up, "TYPE", 4) != 0 || parse_uint(up + 4, (size_t)ul - 4, 0xFFFF, &v) != 0)
                    FAIL("unknown type");
                type = (int)v;
            }
        }
        i++;
        int prc = parse_rdata(s, (uint16_t)type, toks + i, n - i, origin, olen);
        if (prc == 1) {
            s->wire.len = 0;
            if (s->rdata_fn == NULL || s->rdata_fn(s, (uint16_t)type, toks + i, n - i, origin, olen, &s->wire) != 0)
                FAIL("rdata refused");
            s->fallbacks++;
        } else if (prc != 0) {
            FAIL("bad rdata");
        }
        if (ttl < 0) {
            ttl = s->dollar_ttl;
            if (ttl < 0) {
                ttl = s->last_ttl;
                if (ttl < 0) {
                    if (type != ZT_SOA || s->wire.len < 20)
                        FAIL("no TTL");
                    ttl = s->last_ttl = soa_minimum(s->wire.p, s->wire.len);
                }
            }
        } else {
            s->last_ttl = ttl;
        }
        if (type == ZT_SOA) {
            zf_zone_t *z = &t->zones[s->zone];
            if (z->apex == ZF_NONE)
                z->apex = owner;
            else if (z->apex != owner)
                FAIL("SOA not at the apex");
        }
        if (zf_add_record(t, owner, (uint16_t)type, s->zone, (uint32_t)ttl, s->wire.p, s->wire.len) != 0)
            FAIL("out of memory");
    }
    rc = 0;
out:
    zbuf_free(&owner_text);
    return rc;
}
