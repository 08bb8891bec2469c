#include "cmdline.h"
#include "mmio.h"

#define CMDLINE_MAX_TOKEN 128

static bool parse_u64_strict(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    unsigned base = 10;
    size_t i = 0;
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        i = 2;
    }
    if (i >= n) return false;
    for (; i < n; i++) {
        unsigned d;
        char ch = s[i];
        if (ch >= '0' && ch <= '9') d = (unsigned)(ch - '0');
        else if (base == 16 && ch >= 'a' && ch <= 'f') d = (unsigned)(ch - 'a' + 10);
        else if (base == 16 && ch >= 'A' && ch <= 'F') d = (unsigned)(ch - 'A' + 10);
        else if (base == 10 && (ch == 'k' || ch == 'K') && i == n - 1) {
            if (v > (~0ull >> 10)) return false;
            v <<= 10;
            break;
        } else return false;
        if (v > (~0ull - d) / base) return false;
        v = v * base + d;
    }
    *out = v;
    return true;
}

int cmdline_parse(const char *cmdline, const struct cmdline_opt *opts, int nopts)
{
    const char *p = cmdline;
    int errors = 0;
    for (int guard = 0; *p && guard < 4096; guard++) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *tok = p;
        while (*p && *p != ' ') p++;
        size_t len = (size_t)(p - tok);
        const char *eq = NULL, *dot = NULL;
        for (size_t i = 0; i < len; i++) {
            if (tok[i] == '=' && !eq) eq = tok + i;
            if (tok[i] == '.' && !dot && !eq) dot = tok + i;
        }
        if (!dot) continue; /* not a namespaced switch: not ours */
        size_t klen = eq ? (size_t)(eq - tok) : len;
        if (len > CMDLINE_MAX_TOKEN) {
            printf("cmdline: switch too long: %.40s...\n", tok);
            errors++;
            continue;
        }
        const struct cmdline_opt *o = NULL;
        for (int i = 0; i < nopts; i++) {
            if (strlen(opts[i].key) == klen && strncmp(opts[i].key, tok, klen) == 0) o = &opts[i];
        }
        if (!o) {
            printf("cmdline: unknown switch \"%.*s\"\n", (int)klen, tok);
            errors++;
            continue;
        }
        if (!eq) {
            printf("cmdline: switch \"%s\" needs a value (%s)\n", o->key, o->help);
            errors++;
            continue;
        }
        const char *val = eq + 1;
        size_t vlen = len - klen - 1;
        uint64_t v;
        switch (o->type) {
        case OPT_BOOL:
            if (vlen == 1 && (val[0] == '0' || val[0] == '1')) {
                *(bool *)o->dst = val[0] == '1';
                continue;
            }
            printf("cmdline: %s=%.*s: expected 0 or 1\n", o->key, (int)vlen, val);
            errors++;
            break;
        case OPT_U64:
            if (parse_u64_strict(val, vlen, &v) && v >= o->min && v <= o->max) {
                *(uint64_t *)o->dst = v;
                continue;
            }
            printf("cmdline: %s=%.*s: expected a number in [%llu, %llu]\n", o->key, (int)vlen, val,
                   (unsigned long long)o->min, (unsigned long long)o->max);
            errors++;
            break;
        case OPT_ENUM: {
            int found = -1;
            for (int i = 0; o->choices[i]; i++) {
                if (strlen(o->choices[i]) == vlen && strncmp(o->choices[i], val, vlen) == 0) found = i;
            }
            if (found >= 0) {
                *(int *)o->dst = found;
                continue;
            }
            printf("cmdline: %s=%.*s: expected one of", o->key, (int)vlen, val);
            for (int i = 0; o->choices[i]; i++) printf(" %s", o->choices[i]);
            printf("\n");
            errors++;
            break;
        }
        }
    }
    return errors ? -EINVAL : 0;
}

void cmdline_print(const struct cmdline_opt *opts, int nopts)
{
    printf("switches:");
    for (int i = 0; i < nopts; i++) {
        const struct cmdline_opt *o = &opts[i];
        switch (o->type) {
        case OPT_BOOL: printf(" %s=%d", o->key, *(bool *)o->dst ? 1 : 0); break;
        case OPT_U64: printf(" %s=%llu", o->key, (unsigned long long)*(uint64_t *)o->dst); break;
        case OPT_ENUM: printf(" %s=%s", o->key, o->choices[*(int *)o->dst]); break;
        }
    }
    printf("\n");
}
