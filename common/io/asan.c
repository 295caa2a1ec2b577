/*
 * asan: the sanitizer defaults of both programs, in `make check
 * SANITIZE=1`.  They run under ASan also where no environment reaches them
 * (rtq-claim over ssh): memory still held when a program exits is not an
 * error worth losing its reply for.  Empty in a normal build.
 */
#ifdef RTQ_SANITIZE
const char *__asan_default_options(void);

const char *
__asan_default_options(void)
{
	return "detect_leaks=0:abort_on_error=1";
}
#else
typedef int asan_unused;	/* ISO C: no empty translation unit */
#endif
