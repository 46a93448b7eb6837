/* zscan.c: master-file text -> zftable.h records (see zscan.h for the contract).
 *
 * The loop mirrors zonefile._Reader.read line by line, so each rule can be
 * checked against it: the owner column, [TTL] [class] type in either
 * order, TTL defaults ($TTL, then the last explicit TTL, then the SOA
 * minimum for the SOA itself), and parentheses that continue a record on
 * the next lines.  Field parsers mirror rdata.py's for the types big zones
 * are made of (A, AAAA, NS, CNAME, PTR, DNAME, MX, SRV, TXT, SPF, SOA, CAA,
 * and RFC 3597 rdata of types rdata.py has no parser for either).
 *
 * Most lines cost no loop over their octets: plain_line classifies a line
 * 32 octets at a time (AVX2, where the CPU has it) or 16 (SSE2) and takes
 * its tokens from bit masks, names
 * read in place are parsed from a mask of their dots (parse_plain_name),
 * and a type column is found by its octets in two words (type_of).  Every
 * line read ends with '\n' (a last line without one is read from a copy)
 * and every token is followed by an octet that ends a name, a number or an
 * address, so the token loops and parsers check no bound (cursor_t).  The
 * other lines, and what these paths leave, go through read_record and the
 * general parsers, which give the same tokens and the same results.
 */
#define _GNU_SOURCE
#include "zscan.h"
#include "zfwire.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* plain_line_avx2 is compiled for AVX2 by a target attribute and chosen at
 * run time; -DZS_NO_AVX2 builds without it */
#if defined(__x86_64__) && defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(ZS_NO_AVX2)
#include <immintrin.h>
#define HAVE_AVX2_PATH 1
#endif

#define RELEASE_STEP ((size_t)8 << 20) /* octets scanned between two madvise calls */

#define FAIL(why_) do { s->why = (why_); return -1; } while (0)

/* ---- type mnemonics ------------------------------------------------------- */

#define NTYPES 256
static struct {
    char name[16];
    uint16_t value;
    uint8_t used;
} types_tab[NTYPES];

/* The same mnemonics keyed by their octets in two words (zero-padded), so
 * a type column is found with a few word compares instead of upper-casing
 * it and hashing text: `mnemonic_keys` is indexed by key_slot(). */
#define NKEYS 512
static struct {
    uint64_t k[2];
    uint16_t value;
    uint8_t len; /* 0: empty slot */
} mnemonic_keys[NKEYS];

static inline uint32_t key_slot(const uint64_t k[2], size_t n)
{
    uint64_t h = (k[0] ^ (k[1] * 0x9E3779B97F4A7C15ULL) ^ n) * 0xFF51AFD7ED558CCDULL;
    return (uint32_t)(h >> 55) % NKEYS;
}

static void add_key(const char *mnemonic, size_t n, uint16_t value)
{
    uint64_t k[2] = {0, 0};
    memcpy(k, mnemonic, n);
    for (uint32_t i = key_slot(k, n), m = 0; m < NKEYS; m++, i = (i + 1) % NKEYS) {
        if (mnemonic_keys[i].len == 0 ||
            (mnemonic_keys[i].len == n && mnemonic_keys[i].k[0] == k[0] && mnemonic_keys[i].k[1] == k[1])) {
            mnemonic_keys[i].k[0] = k[0];
            mnemonic_keys[i].k[1] = k[1];
            mnemonic_keys[i].len = (uint8_t)n;
            mnemonic_keys[i].value = value;
            return;
        }
    }
}

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
            add_key(mnemonic, n, value);
            return 0;
        }
        if (strcmp(types_tab[i].name, mnemonic) == 0) {
            types_tab[i].value = value;
            add_key(mnemonic, n, value);
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

/* ---- tokens ------------------------------------------------------------------ */

/* What an octet does outside quotes (rdata.scan_line): continues a token
 * as itself, separates tokens (\s, for ASCII), ends the line, or starts
 * something else.  Octets >= 0x80 outside quotes stop the scan; NUL never
 * gets here (zs_scan refuses such a text first). */
enum {
    CH_PLAIN = 0,
    CH_BLANK,
    CH_NEWLINE,
    CH_OPEN,
    CH_CLOSE,
    CH_COMMENT, /* the classes up to here end an unquoted token */
    CH_QUOTE,
    CH_ESCAPE,
    CH_OTHER,   /* >= 0x80, NUL */
};

static const uint8_t char_class[256] = {
    [0] = CH_OTHER,
    ['\t'] = CH_BLANK, ['\n'] = CH_NEWLINE, [0x0b] = CH_BLANK, [0x0c] = CH_BLANK,
    ['\r'] = CH_BLANK, [0x1c ... 0x1f] = CH_BLANK, [' '] = CH_BLANK,
    ['"'] = CH_QUOTE, ['('] = CH_OPEN, [')'] = CH_CLOSE, [';'] = CH_COMMENT,
    ['\\'] = CH_ESCAPE, [0x80 ... 0xff] = CH_OTHER,
};

/* octets that end a run inside double quotes */
static const uint8_t quote_stop[256] = {['\n'] = 1, ['"'] = 1, ['\\'] = 1};

/* Where the scan is.  Every line it reads ends with '\n': the text's own,
 * or, for a last line without one, that of a copy of the line; so the token
 * loops stop at a newline, never at a bound, and every token is followed
 * by an octet that cannot continue a name, a number or an address (its
 * delimiter in the text, or a NUL in the token buffer). */
typedef struct {
    const uint8_t *pos;      /* the next line */
    const uint8_t *end;      /* the end of the lines being read */
    const uint8_t *tail;     /* the copied last line, or NULL */
    const uint8_t *tail_end; /* after its '\n' */
    uint32_t line;           /* lines begun, the one being read included */
    int ascii;               /* the text holds no octet >= 0x80 */
} cursor_t;

/* the line that starts at `p` (just after a '\n'), or NULL at the end of
 * the text */
static inline const uint8_t *line_at(cursor_t *c, const uint8_t *p)
{
    if (p < c->end)
        return p;
    if (c->tail != NULL && c->end != c->tail_end) {
        c->end = c->tail_end;
        return c->tail;
    }
    return NULL;
}

static int grow_toks(zs_scanner_t *s)
{
    int cap = s->captoks ? s->captoks * 2 : 64;
    zs_tok_t *t = realloc(s->toks, (size_t)cap * sizeof(zs_tok_t));
    if (t == NULL)
        return -1;
    s->toks = t;
    s->captoks = cap;
    return 0;
}

static inline zs_tok_t *new_tok(zs_scanner_t *s)
{
    if (s->ntoks == s->captoks && grow_toks(s) != 0)
        return NULL;
    return &s->toks[s->ntoks++];
}

/* a token copied into the token buffer: started, empty */
static inline zs_tok_t *new_copied_tok(zs_scanner_t *s, int quoted)
{
    zs_tok_t *t = new_tok(s);
    if (t == NULL)
        return NULL;
    t->src = NULL;
    t->off = (uint32_t)s->tokbuf.len;
    t->len = 0;
    t->quoted = (uint8_t)quoted;
    t->nonascii = 0;
    return t;
}

/* n more octets of a copied token; room for its closing NUL stays */
static int tok_put(zs_scanner_t *s, zs_tok_t *t, const uint8_t *p, size_t n, int ascii)
{
    if (zbuf_reserve(&s->tokbuf, n + 1) != 0)
        return -1;
    memcpy(s->tokbuf.p + s->tokbuf.len, p, n);
    s->tokbuf.len += n;
    t->len += (uint32_t)n;
    if (!ascii)
        for (size_t i = 0; i < n; i++)
            t->nonascii |= p[i] >= 0x80;
    return 0;
}

/* ends a copied token with the NUL parsers may read as its end */
static inline void tok_close(zs_scanner_t *s)
{
    s->tokbuf.p[s->tokbuf.len++] = 0;
}

/* The content of a quoted run starting after its opening quote: escapes
 * kept, up to the closing quote; returns the position after it, or NULL
 * with s->why set when the line ends first. */
static const uint8_t *quoted_run(zs_scanner_t *s, const cursor_t *c, zs_tok_t *t, const uint8_t *p)
{
    for (;;) {
        const uint8_t *r = p;
        while (!quote_stop[*r])
            r++;
        if (tok_put(s, t, p, (size_t)(r - p), c->ascii) != 0)
            goto oom;
        if (*r == '"')
            return r + 1;
        if (*r == '\n' || r[1] == '\n') {
            s->why = "unterminated quoted string";
            return NULL;
        }
        if (tok_put(s, t, r, 2, c->ascii) != 0) /* an escape, kept */
            goto oom;
        p = r + 2;
    }
oom:
    s->why = "out of memory";
    return NULL;
}

/* A token with an escape or a quote in it (or non-ASCII, refused), copied
 * as rdata.scan_line reads it: `key="a b"` is one token, the quotes gone.
 * Returns the octet after it, or NULL with s->why set. */
static const uint8_t *copied_token(zs_scanner_t *s, const cursor_t *c, const uint8_t *p)
{
    zs_tok_t *t = new_copied_tok(s, 0);
    if (t == NULL)
        goto oom;
    for (;;) {
        const uint8_t *r = p;
        while (char_class[*r] == CH_PLAIN)
            r++;
        if (r > p && tok_put(s, t, p, (size_t)(r - p), 1) != 0)
            goto oom;
        p = r;
        switch (char_class[*p]) {
        case CH_ESCAPE:
            if (p[1] == '\n') {
                s->why = "backslash at end of line";
                return NULL;
            }
            if (p[1] >= 0x80) {
                s->why = "escaped non-ASCII outside quotes";
                return NULL;
            }
            if (tok_put(s, t, p, 2, 1) != 0)
                goto oom;
            p += 2;
            break;
        case CH_QUOTE:
            p = quoted_run(s, c, t, p + 1);
            if (p == NULL)
                return NULL;
            break;
        case CH_OTHER:
            s->why = *p ? "non-ASCII outside quotes" : "NUL octet";
            return NULL;
        default: /* blank, newline, ( ) ; */
            tok_close(s);
            return p;
        }
    }
oom:
    s->why = "out of memory";
    return NULL;
}

/* The tokens of a line from its masks (bit i: octet p[i]): `plain`, and
 * `other` (neither plain nor blank) whose lowest bit must be the '\n'.
 * 1 when it was such a line (c->pos then is the next line), else 0 with
 * nothing changed. */
static inline int line_tokens(zs_scanner_t *s, cursor_t *c, const uint8_t *p, uint64_t plain,
                              uint64_t other)
{
    if (other == 0)
        return 0;
    int end = __builtin_ctzll(other);
    if (p[end] != '\n')
        return 0;
    plain &= (other & -other) - 1; /* the octets before the '\n' */
    if (s->captoks - s->ntoks < 32 && grow_toks(s) != 0)
        return 0;
    uint64_t starts = plain & ~(plain << 1), ends = plain & ~(plain >> 1);
    zs_tok_t *first = s->toks + s->ntoks, *t = first; /* locals: no reload after each store */
    while (starts != 0) {
        int a = __builtin_ctzll(starts), b = __builtin_ctzll(ends);
        t->src = (const char *)p + a;
        t->len = (uint32_t)(b - a + 1);
        t->quoted = 0;
        t->nonascii = 0;
        t++;
        starts &= starts - 1;
        ends &= ends - 1;
    }
    s->ntoks += (int)(t - first);
    c->pos = p + end + 1;
    return 1;
}

#ifdef __SSE2__
/* The common line, 16 octets at a time: tokens of plain octets between
 * blanks (space, tab, CR), ending with '\n' within 64 octets of `p`, with
 * no quote, parenthesis, comment, escape or other octet on it.  The first
 * octet that is neither plain nor such a blank must be the '\n'; tokens
 * are found from bit masks (a token starts where a plain octet follows a
 * blank).  1 when it was such a line (c->pos then is the next line), 0
 * when read_record must read it (nothing was changed).  `p` + 64 must lie
 * within the text. */
static int plain_line(zs_scanner_t *s, cursor_t *c, const uint8_t *p)
{
    const __m128i space = _mm_set1_epi8(' '), quote = _mm_set1_epi8('"');
    const __m128i semi = _mm_set1_epi8(';'), esc = _mm_set1_epi8('\\');
    const __m128i four = _mm_set1_epi8(4), tab_cr = _mm_set1_epi8('\r'); /* '\t' | 4 == '\r' */
    const __m128i one = _mm_set1_epi8(1), parens = _mm_set1_epi8(')');     /* '(' | 1 == ')' */
    uint64_t plain = 0, other = 0;
    for (int k = 0; k < 64; k += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + k));
        /* above ' ' as signed octets: 0x21..0x7F */
        __m128i above = _mm_cmpgt_epi8(v, space);
        __m128i special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, semi)),
                                       _mm_or_si128(_mm_cmpeq_epi8(v, esc),
                                                    _mm_cmpeq_epi8(_mm_or_si128(v, one), parens)));
        __m128i blank = _mm_or_si128(_mm_cmpeq_epi8(v, space), _mm_cmpeq_epi8(_mm_or_si128(v, four), tab_cr));
        __m128i good = _mm_or_si128(_mm_andnot_si128(special, above), blank);
        plain |= (uint64_t)(uint16_t)_mm_movemask_epi8(above) << k;
        uint64_t bad = (uint64_t)(uint16_t)~_mm_movemask_epi8(good);
        if (bad != 0) {
            other = bad << k;
            break;
        }
    }
    return line_tokens(s, c, p, plain, other);
}
#endif

#ifdef HAVE_AVX2_PATH
/* plain_line 32 octets at a time, where the CPU has AVX2: each octet's
 * class is the AND of two 16-entry tables, one indexed by its low nibble,
 * one by its high nibble.  Bits: plain octets 0x21-0x7F by high nibble
 * (1: 0x2_, 2: 0x3_, 4: 0x5_, 8: 0x4_ 0x6_ 0x7_; the low-nibble table
 * leaves out '"' '(' ')' ';' '\\' and the space), 16: the space, 32: tab and
 * CR.  No bit at all: anything else (the newline, controls, >= 0x80). */
static const int8_t class_lo[16] = {30, 15, 14, 15, 15, 15, 15, 15, 14, 46, 15, 13, 11, 47, 15, 15};
static const int8_t class_hi[16] = {32, 0, 17, 2, 8, 4, 8, 8, 0, 0, 0, 0, 0, 0, 0, 0};
#define CLASS_PLAIN 15

/* whether plain_line_avx2 may run: -1 until zs_scan first asks the CPU */
static int cpu_avx2 = -1;

__attribute__((target("avx2"))) static int plain_line_avx2(zs_scanner_t *s, cursor_t *c, const uint8_t *p)
{
    const __m256i lo_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)class_lo));
    const __m256i hi_t = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)class_hi));
    const __m256i nibble = _mm256_set1_epi8(0x0F), plain_bits = _mm256_set1_epi8(CLASS_PLAIN);
    const __m256i zero = _mm256_setzero_si256();
    uint64_t plain = 0, other = 0;
    for (int k = 0; k < 64; k += 32) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + k));
        __m256i lo = _mm256_and_si256(v, nibble);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), nibble);
        __m256i cls = _mm256_and_si256(_mm256_shuffle_epi8(lo_t, lo), _mm256_shuffle_epi8(hi_t, hi));
        uint32_t not_plain = (uint32_t)_mm256_movemask_epi8(
            _mm256_cmpeq_epi8(_mm256_and_si256(cls, plain_bits), zero));
        uint32_t bad = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(cls, zero));
        plain |= (uint64_t)(uint32_t)~not_plain << k;
        if (bad != 0) {
            other = (uint64_t)bad << k;
            break;
        }
    }
    return line_tokens(s, c, p, plain, other);
}
#endif

/* One record's tokens (rdata.scan_line over its lines): the line at
 * c->pos and, while a '(' is open, the lines after it; c->pos then is the
 * line after the record.  Most tokens are a run of plain octets, read
 * where they lie in the text (it stays mapped until the record is added).
 * 0, or -1 with s->why set. */
static int read_record(zs_scanner_t *s, cursor_t *c)
{
    const uint8_t *p = c->pos;
    int parens = 0;
    s->ntoks = 0;
    s->tokbuf.len = 0;
#if defined(HAVE_AVX2_PATH)
    if ((size_t)(c->end - p) >= 64 && (cpu_avx2 > 0 ? plain_line_avx2(s, c, p) : plain_line(s, c, p)))
        return 0;
#elif defined(__SSE2__)
    if ((size_t)(c->end - p) >= 64 && plain_line(s, c, p))
        return 0;
#endif
    for (;;) {
        switch (char_class[*p]) {
        case CH_BLANK:
            p++;
            break;
        case CH_PLAIN: {
            const uint8_t *r = p + 1;
            while (char_class[*r] == CH_PLAIN)
                r++;
            if (char_class[*r] > CH_COMMENT) { /* goes on with an escape or a quote */
                p = copied_token(s, c, p);
                if (p == NULL)
                    return -1;
                break;
            }
            zs_tok_t *t = new_tok(s);
            if (t == NULL)
                goto oom;
            t->src = (const char *)p;
            t->off = 0;
            t->len = (uint32_t)(r - p);
            t->quoted = 0;
            t->nonascii = 0;
            p = r;
            break;
        }
        case CH_NEWLINE:
            if (parens == 0) {
                c->pos = p + 1;
                return 0;
            }
            p = line_at(c, p + 1);
            if (p == NULL) {
                s->why = "'(' without ')'";
                return -1;
            }
            c->line++;
            break;
        case CH_COMMENT:
            p = memchr(p, '\n', (size_t)(c->end - p));
            break;
        case CH_OPEN:
            parens++;
            p++;
            break;
        case CH_CLOSE:
            if (parens == 0) {
                s->why = "')' without '('";
                return -1;
            }
            parens--;
            p++;
            break;
        case CH_QUOTE: {
            zs_tok_t *t = new_copied_tok(s, 1);
            if (t == NULL)
                goto oom;
            p = quoted_run(s, c, t, p + 1);
            if (p == NULL)
                return -1;
            tok_close(s);
            break;
        }
        default: /* an escape, or non-ASCII */
            p = copied_token(s, c, p);
            if (p == NULL)
                return -1;
            break;
        }
    }
oom:
    s->why = "out of memory";
    return -1;
}

/* ---- fields ------------------------------------------------------------------ */

static inline int is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
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

/* the octets of a word equal to '.' or '\\': the lowest set bit (0x80 of
 * an octet) marks the first; bits above it may be spurious */
static inline uint64_t dot_or_escape(uint64_t v)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t d = v ^ (ones * '.'), e = v ^ (ones * '\\');
    return (((d - ones) & ~d) | ((e - ones) & ~e)) & highs;
}

/* room for a parsed name: 255 octets, and a word stored past them */
#define NAME_ROOM (255 + 8)

/* the origin after a name's labels, a word at a time: `out` and the
 * origin both have NAME_ROOM octets */
static inline void copy_origin(uint8_t *out, const uint8_t *origin, int olen)
{
    for (int k = 0; k < olen; k += 8)
        memcpy(out + k, origin + k, 8);
}

/* model.name_from_text into `out` (NAME_ROOM octets; case kept, or
 * lower-cased as zf_fold_copy does when `fold`, `origin` then being
 * lower-cased already): its length, or -1.  Plain label octets go a word
 * at a time (never read past the token). */
static int parse_name(const char *p, size_t n, const uint8_t *origin, int olen, uint8_t *out,
                      int fold)
{
    if (n == 1 && p[0] == '@') {
        if (olen < 0)
            return -1;
        copy_origin(out, origin, olen);
        return olen;
    }
    if (n == 1 && p[0] == '.') {
        out[0] = 0;
        return 1;
    }
    size_t w = 0;      /* octets written */
    size_t i = 0;
    int absolute = 0;
    while (i < n) {
        size_t lab = w++; /* the label's length octet */
        size_t cur = 0;   /* octets in the label */
        for (;;) {
            if (n >= 8 && i < n) { /* (an escape may have ended the token) */
                /* the next eight octets, or the token's last ones shifted
                 * down (zeros above them): label octets up to a '.' or '\\'
                 * stored as a word, `out` having room past 255 for it */
                size_t avail = n - i;
                uint64_t v, m;
                if (avail >= 8) {
                    memcpy(&v, p + i, 8);
                    avail = 8;
                    m = dot_or_escape(v);
                } else {
                    memcpy(&v, p + n - 8, 8);
                    v >>= 8 * (8 - avail);
                    m = dot_or_escape(v) & ((1ULL << (8 * avail)) - 1);
                }
                size_t q = m != 0 ? (size_t)__builtin_ctzll(m) >> 3 : avail;
                if (cur + q > 63 || w + q > 255)
                    return -1;
                if (fold)
                    v = zf_fold8(v);
                memcpy(out + w, &v, 8);
                w += q;
                cur += q;
                i += q;
                if (i >= n)
                    break;
                if (q == avail)
                    continue;
            }
            uint8_t c = 0;
            while (i < n && (c = (uint8_t)p[i]) != '.' && c != '\\') {
                if (cur == 63 || w >= 255)
                    return -1;
                out[w++] = fold ? zf_fold1(c) : c;
                cur++;
                i++;
            }
            if (i >= n || c == '.')
                break;
            /* an escape: \DDD or \X */
            uint8_t v;
            if (i + 4 <= n && is_digit((uint8_t)p[i + 1]) && is_digit((uint8_t)p[i + 2]) &&
                is_digit((uint8_t)p[i + 3])) {
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
            if (cur == 63 || w >= 255)
                return -1;
            out[w++] = fold ? zf_fold1(v) : v;
            cur++;
        }
        if (cur == 0)
            return -1; /* an empty label: "..", a leading "." */
        out[lab] = (uint8_t)cur;
        if (i < n) { /* at a '.' */
            i++;
            if (i == n)
                absolute = 1;
        }
    }
    /* w octets of labels */
    if (absolute) {
        if (w + 1 > 255)
            return -1;
        out[w] = 0;
        return (int)w + 1;
    }
    if (olen < 0 || w + (size_t)olen > 255)
        return -1;
    copy_origin(out + w, origin, olen);
    return (int)w + olen;
}

/* 0x80 in each octet of v equal to c, exactly */
static inline uint64_t octets_equal(uint64_t v, uint8_t c)
{
    uint64_t x = v ^ (0x0101010101010101ULL * c);
    return ~(((x & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | x) & 0x8080808080808080ULL;
}

/* the octet flags of octets_equal() as eight bits, octet i at bit i */
static inline uint64_t octet_bits(uint64_t m)
{
    return ((m >> 7) * 0x0102040810204080ULL) >> 56;
}

/* parse_name for a token read in place (so no escape in it: a run of
 * plain octets) of 8 to 64 octets: its octets go to out + 1 a word at a
 * time while its dots are found, then each dot becomes the length of the
 * label after it.  Same result as parse_name. */
static int parse_plain_name(const char *p, size_t n, const uint8_t *origin, int olen, uint8_t *out,
                            int fold)
{
    uint64_t dots = 0;
    for (size_t at = 0;; at += 8) {
        if (at + 8 > n)
            at = n - 8; /* the last word overlaps the one before */
        uint64_t v;
        memcpy(&v, p + at, 8);
        dots |= octet_bits(octets_equal(v, '.')) << at;
        if (fold)
            v = zf_fold8(v);
        memcpy(out + 1 + at, &v, 8);
        if (at + 8 >= n)
            break;
    }
    size_t start = 0; /* of the label being closed: its length octet is out[start] */
    while (dots != 0) {
        size_t d = (size_t)__builtin_ctzll(dots);
        size_t len = d - start;
        if (len == 0 || len > 63)
            return -1; /* an empty label ("..", a leading dot), or a long one */
        out[start] = (uint8_t)len;
        start = d + 1;
        dots &= dots - 1;
    }
    size_t len = n - start;
    if (len > 63)
        return -1;
    out[start] = (uint8_t)len; /* 0 after a final dot: the root */
    if (len == 0) {
        if (n + 1 > 255)
            return -1;
        return (int)n + 1;
    }
    if (olen < 0 || n + 1 + (size_t)olen > 255)
        return -1;
    copy_origin(out + n + 1, origin, olen);
    return (int)n + 1 + olen;
}

/* parse_name of a token: the word-wise parse for most */
static inline int tok_name(const zs_scanner_t *s, const zs_tok_t *t, const uint8_t *origin, int olen,
                           uint8_t *out, int fold)
{
    if (t->src != NULL && t->len >= 8 && t->len <= 64)
        return parse_plain_name(t->src, t->len, origin, olen, out, fold);
    return parse_name(zs_tok_text(s, t), t->len, origin, olen, out, fold);
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

/* the value of a hex digit, -1 for any other octet (the ranges between
 * the digits spelled out: an initializer overriding another is a warning) */
static const int8_t hex_digit[256] = {
    [0 ... '0' - 1] = -1,
    ['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3, ['4'] = 4,
    ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
    ['9' + 1 ... 'A' - 1] = -1,
    ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15,
    ['F' + 1 ... 'a' - 1] = -1,
    ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
    ['f' + 1 ... 255] = -1,
};

static inline int hexval(uint8_t c)
{
    return hex_digit[c];
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

/* a name in the rdata, parsed into the wire buffer itself */
static int put_name(zs_scanner_t *s, const zs_tok_t *t, const uint8_t *origin, int olen)
{
    if (t->nonascii || zbuf_reserve(&s->wire, NAME_ROOM) != 0)
        return -1;
    int n = tok_name(s, t, origin, olen, s->wire.p + s->wire.len, 0);
    if (n < 0)
        return -1;
    s->wire.len += (size_t)n;
    return 0;
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
    /* octet by octet, a digit at a time with no bound check: the octet
     * after a token is never a digit or a '.' (see cursor_t), so each
     * octet's digits and the dot after it are read without one */
    const unsigned char *c = (const unsigned char *)p, *e = c + n;
    for (int k = 0;; k++) {
        unsigned val = (unsigned)c[0] - '0', d;
        if (val > 9)
            return -1;
        if ((d = (unsigned)c[1] - '0') <= 9) {
            if (val == 0)
                return -1; /* a leading zero */
            val = val * 10 + d;
            if ((d = (unsigned)c[2] - '0') <= 9) {
                val = val * 10 + d;
                if (val > 255 || (unsigned)c[3] - '0' <= 9)
                    return -1;
                c++;
            }
            c++;
        }
        c++;
        out[k] = (uint8_t)val;
        if (k == 3)
            break;
        if (*c != '.')
            return -1;
        c++;
    }
    return c == e ? 0 : -1;
}

/* An IPv6 address, accepted and refused exactly as glibc's inet_pton(AF_INET6)
 * does: groups of 1-4 hex digits, one "::", a dotted quad in the last 32
 * bits; ~700 instructions an address there (its copy and checks). */
static int parse_ipv6(const char *p, size_t n, uint8_t out[16])
{
    /* a group of hex digits at a time, with no bound check: the octet
     * after a token is no hex digit (see cursor_t) */
    const unsigned char *c = (const unsigned char *)p;
    uint8_t tmp[16] = {0};
    size_t tp = 0, colonp = SIZE_MAX, i = 0, curtok, digits = 0;
    unsigned val = 0;
    if (n == 0)
        return -1;
    if (c[0] == ':') {
        if (n < 2 || c[1] != ':')
            return -1;
        i = 1;
    }
    curtok = i;
    while (i < n) {
        int d = hexval(c[i]);
        if (d < 0) {
            /* no group here: a second ':' of "::" (which may come once) */
            if (c[i++] != ':' || colonp != SIZE_MAX)
                return -1;
            curtok = i;
            colonp = tp;
            continue;
        }
        size_t k = i + 1;
        val = (unsigned)d;
        while ((d = hexval(c[k])) >= 0) {
            val = val << 4 | (unsigned)d;
            if (++k - i > 4)
                return -1; /* five digits */
        }
        digits = k - i;
        i = k;
        if (i >= n)
            break;
        unsigned char ch = c[i++];
        if (ch == ':') {
            curtok = i;
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
        /* the groups after "::" to the end, zeros where they were (an
         * octet at a time: a few, where memmove and memset were calls) */
        size_t moved = tp - colonp;
        for (size_t k = 1; k <= moved; k++) {
            tmp[16 - k] = tmp[colonp + moved - k];
            tmp[colonp + moved - k] = 0;
        }
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
    if (n > 0 && !toks[0].quoted && toks[0].len == 2 && zs_tok_text(s, &toks[0])[0] == '\\' &&
        zs_tok_text(s, &toks[0])[1] == '#') {
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

/* the class column as written "IN" (other spellings go through upper_tok) */
static inline int is_word_IN(const zs_scanner_t *s, const zs_tok_t *t)
{
    const char *p = zs_tok_text(s, t);
    return t->len == 2 && p[0] == 'I' && p[1] == 'N';
}

/* type_lookup of the token upper-cased, or -1 (then zs_scan tries the
 * class words and TYPEnnn): its octets upper-cased into two words */
static inline int type_of(const zs_scanner_t *s, const zs_tok_t *t)
{
    size_t n = t->len;
    if (n == 0 || n >= sizeof(types_tab[0].name) || t->nonascii)
        return -1;
    const uint8_t *p = (const uint8_t *)zs_tok_text(s, t);
    uint64_t k[2] = {0, 0};
    uint8_t *kb = (uint8_t *)k;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        kb[i] = (uint8_t)(c - ((unsigned)(c - 'a') < 26u ? 32 : 0));
    }
    for (uint32_t i = key_slot(k, n);; i = (i + 1) % NKEYS) {
        if (mnemonic_keys[i].len == 0)
            return -1;
        if (mnemonic_keys[i].len == n && mnemonic_keys[i].k[0] == k[0] && mnemonic_keys[i].k[1] == k[1])
            return mnemonic_keys[i].value;
    }
}

/* a[0..n) == b[0..n), a word at a time (the last word overlapping) */
static inline int same_octets(const uint8_t *a, const uint8_t *b, size_t n)
{
    uint64_t x, y;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            if (a[i] != b[i])
                return 0;
        return 1;
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, a + i, 8);
        memcpy(&y, b + i, 8);
        if (x != y)
            return 0;
    }
    memcpy(&x, a + n - 8, 8);
    memcpy(&y, b + n - 8, 8);
    return x == y;
}

/* `b` holds the n octets at p (the owner column kept between records) */
static inline int keep_octets(zbuf_t *b, const uint8_t *p, size_t n)
{
    b->len = 0;
    if (zbuf_reserve(b, n) != 0)
        return -1;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            b->p[i] = p[i];
    } else {
        for (size_t i = 0; i + 8 < n; i += 8)
            memcpy(b->p + i, p + i, 8);
        memcpy(b->p + n - 8, p + n - 8, 8);
    }
    b->len = n;
    return 0;
}

/* The text's octets in one pass: 0 (ASCII), 1 (some >= 0x80), -1 (a NUL) */
static int text_octets(const uint8_t *p, size_t n)
{
    size_t i = 0;
    uint64_t high = 0, nul = 0;
#ifdef __SSE2__
    __m128i any_high = _mm_setzero_si128(), any_nul = _mm_setzero_si128();
    const __m128i zero = _mm_setzero_si128();
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        any_high = _mm_or_si128(any_high, v);
        any_nul = _mm_or_si128(any_nul, _mm_cmpeq_epi8(v, zero));
    }
    high = (uint64_t)_mm_movemask_epi8(any_high);
    nul = (uint64_t)_mm_movemask_epi8(any_nul);
#endif
    for (; i < n; i++) {
        high |= p[i] >> 7;
        nul |= p[i] == 0;
    }
    return nul ? -1 : high ? 1 : 0;
}

int zs_scan(zs_scanner_t *s, const uint8_t *text, size_t len, const uint8_t *origin_in,
            int origin_len, int depth)
{
    uint8_t origin[NAME_ROOM] = {0}, origin_low[NAME_ROOM] = {0}; /* as written, lower-cased */
    int olen = origin_len;
    zf_table_t *t = s->t;
    uint32_t owner = ZF_NONE;
    zbuf_t owner_text = {0};  /* the owner column's token, while the origin stays */
    int have_owner_text = 0;
    uint8_t owner_low[NAME_ROOM]; /* the owner, lower-cased, until it is interned */
    size_t owner_len = 0;
    uint32_t owner_hash = 0;
    uint8_t *tail = NULL;
    cursor_t c = {0};
    int rc = -1;
    /* only this call's text: an $INCLUDE's nested call must not drop its
     * own (heap) text */
    int release = s->release_behind;
    const uint8_t *released = text; /* page-aligned: the mapping's start */
    size_t page = release ? (size_t)sysconf(_SC_PAGESIZE) : 1;
    s->release_behind = 0;
    /* a name per 64 octets of the file: the hash is sized once instead of
     * rehashing every name at each doubling (the bench zones run ~55
     * octets a name); a hint only, a failure here fails where it grows */
    if (depth == 0)
        (void)zf_table_expect(t, len / 64);

#ifdef HAVE_AVX2_PATH
    if (cpu_avx2 < 0) {
        __builtin_cpu_init();
        /* ZONEFRONT_SCAN_NO_AVX2 (tests): the SSE2 plain_line on any CPU */
        cpu_avx2 = __builtin_cpu_supports("avx2") != 0 && getenv("ZONEFRONT_SCAN_NO_AVX2") == NULL;
    }
#endif
    if (olen >= 0) {
        memcpy(origin, origin_in, (size_t)olen);
        zf_fold_copy(origin_low, origin, (size_t)olen);
    }
    int octets = text_octets(text, len);
    if (octets < 0) {
        s->why = "NUL octet";
        return -1;
    }
    if (octets > 0) {
        const uint8_t *p = text;
        while (*p < 0x80)
            p++;
        if (!valid_utf8(p, len - (size_t)(p - text))) {
            s->why = "not UTF-8";
            return -1;
        }
    }
    c.pos = text;
    c.end = text + len;
    c.ascii = octets == 0;
    if (len > 0 && text[len - 1] != '\n') {
        /* the last line, without a newline: read from a copy with one */
        const uint8_t *last = memrchr(text, '\n', len);
        last = last != NULL ? last + 1 : text;
        size_t n = (size_t)(text + len - last);
        tail = malloc(n + 1);
        if (tail == NULL) {
            s->why = "out of memory";
            return -1;
        }
        memcpy(tail, last, n);
        tail[n] = '\n';
        c.end = last;
        c.tail = tail;
        c.tail_end = tail + n + 1;
    }
#undef FAIL
#define FAIL(why_) do { s->why = (why_); s->why_line = c.line; goto out; } while (0)
    const uint8_t *ls;
    while ((ls = line_at(&c, c.pos)) != NULL) {
        if (release && c.end != c.tail_end && (size_t)(ls - released) >= RELEASE_STEP) {
            /* no token or name points into the text once its record is
             * read (tokens read in place live until the next record; the
             * record is copied into the table, its owner into owner_text) */
            size_t n = (size_t)(ls - released) / page * page;
            (void)madvise((void *)released, n, MADV_DONTNEED);
            released += n;
        }
        c.pos = ls;
        c.line++;
        if (read_record(s, &c) != 0) {
            s->why_line = c.line;
            goto out;
        }
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
            if (!(have_owner_text && owner_text.len == o->len && same_octets(owner_text.p, (const uint8_t *)ot, o->len))) {
                if (ot[0] == '$') {
                    char word[16];
                    if (upper_tok(s, o, word, sizeof(word)) < 0)
                        FAIL("unknown directive");
                    if (strcmp(word, "$ORIGIN") == 0) {
                        uint8_t name[NAME_ROOM];
                        int nn;
                        if (n != 2 || toks[1].nonascii ||
                            (nn = parse_name(zs_tok_text(s, &toks[1]), toks[1].len, origin, olen, name, 0)) < 0)
                            FAIL("bad $ORIGIN");
                        memcpy(origin, name, (size_t)nn);
                        zf_fold_copy(origin_low, name, (size_t)nn);
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
                int nn = tok_name(s, o, origin_low, olen, owner_low, 1);
                if (nn < 0)
                    FAIL("bad owner name");
                owner_len = (size_t)nn;
                owner_hash = zf_hash(owner_low, owner_len);
                zf_intern_prefetch(t, owner_hash); /* interned once the line is read */
                owner = ZF_NONE;
                if (keep_octets(&owner_text, (const uint8_t *)ot, o->len) != 0)
                    FAIL("out of memory");
                have_owner_text = 1;
            }
        }
        /* [TTL] [class] type, or [class] [TTL] type (RFC 1035 §5.1) */
        int64_t ttl = -1;
        if (i >= n)
            FAIL("missing type");
        if (starts_digit(s, &toks[i])) {
            if (column_ttl(s, &toks[i], &ttl) != 0)
                FAIL("bad TTL");
            if (++i >= n)
                FAIL("missing type");
        }
        if (is_word_IN(s, &toks[i])) {
            if (++i >= n)
                FAIL("missing type");
            if (ttl < 0 && starts_digit(s, &toks[i])) {
                if (column_ttl(s, &toks[i], &ttl) != 0)
                    FAIL("bad TTL");
                if (++i >= n)
                    FAIL("missing type");
            }
        }
        int type = type_of(s, &toks[i]);
        if (type < 0) {
            /* not a mnemonic as written: a class word first, TYPEnnn */
            char up[24];
            int ul = upper_tok(s, &toks[i], up, sizeof(up));
            if (ul <= 0)
                FAIL("bad type");
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
        if (owner == ZF_NONE) { /* a new owner, its hash slot loaded by now */
            owner = zf_intern_hashed(t, owner_low, owner_len, owner_hash);
            if (owner == ZF_NONE)
                FAIL("out of memory");
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
    free(tail);
    return rc;
}
