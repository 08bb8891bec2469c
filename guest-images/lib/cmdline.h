/*
 * Linux-style switches on the kernel command line: "key=value" tokens separated by spaces. A key with a dot
 * (iommu.strict, fio.bs, ...) must be one the image knows and its value must parse, otherwise cmdline_parse prints
 * a clear message and returns -EINVAL (the images then exit with EXIT_BAD_CMDLINE). Keys without a dot
 * (console=ttyS0 and the like) are not ours and are ignored.
 */
#ifndef GUEST_CMDLINE_H
#define GUEST_CMDLINE_H

#include "runtime.h"

enum cmdline_type { OPT_BOOL, OPT_U64, OPT_ENUM };

struct cmdline_opt {
    const char *key;
    enum cmdline_type type;
    void *dst;                   /* bool*, uint64_t*, or int* (index into choices) */
    uint64_t min, max;           /* OPT_U64 */
    const char *const *choices;  /* OPT_ENUM, NULL-terminated */
    const char *help;
};

int cmdline_parse(const char *cmdline, const struct cmdline_opt *opts, int nopts);
void cmdline_print(const struct cmdline_opt *opts, int nopts);

#endif
