/* Growable byte buffer. Functions return 0 or -errno. */
#ifndef K3H_BUF_H
#define K3H_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;     /* always NUL-terminated when len > 0 or after any append */
	size_t len;
	size_t cap;
};

#define BUF_INIT { NULL, 0, 0 }

int buf_reserve(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Detach the data (caller frees); the buffer is reset. Never NULL on success. */
char *buf_steal(struct buf *b);
void buf_reset(struct buf *b);
void buf_free(struct buf *b);

#endif
