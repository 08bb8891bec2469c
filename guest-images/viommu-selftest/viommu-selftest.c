#include "../lib/stack.h"
int main(const struct boot_info *bi) { (void)bi; return 0; }
