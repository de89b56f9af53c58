/* <zephyr/sys/printk.h> for Linux: printk() writes to standard output. */
#ifndef ZEPHYR_INCLUDE_SYS_PRINTK_H_
#define ZEPHYR_INCLUDE_SYS_PRINTK_H_

#ifdef __cplusplus
extern "C" {
#endif

/** printf() to standard output, flushed at once like a console. */
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#ifdef __cplusplus
}
#endif
#endif /* ZEPHYR_INCLUDE_SYS_PRINTK_H_ */
