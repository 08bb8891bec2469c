#include "bootinfo.h"
#include "string.h"

bool boot_info_valid(const struct boot_info *bi)
{
    return bi && bi->magic == BOOT_INFO_MAGIC && bi->version >= BOOT_INFO_VERSION;
}

const char *boot_info_cmdline(const struct boot_info *bi)
{
    if (!boot_info_valid(bi) || !bi->cmdline)
        return "";
    return (const char *)(uintptr_t)bi->cmdline;
}

static uint64_t parse_u64(const char *s, uint64_t dflt)
{
    uint64_t v = 0;
    unsigned base = 10;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    bool any = false;
    for (;; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
        else break;
        v = v * base + d;
        any = true;
    }
    return any && (*s == '\0' || *s == ' ') ? v : dflt;
}

uint64_t cmdline_get_u64(const char *cmdline, const char *key, uint64_t dflt)
{
    size_t klen = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            return parse_u64(p + klen + 1, dflt);
        while (*p && *p != ' ')
            p++;
    }
    return dflt;
}
