/*
 * Runs the fuzz target over files given on the command line (the seed
 * corpus and every crash found so far), so that `make check` replays them
 * with gcc, without libFuzzer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	int	 i;

	for (i = 1; i < argc; i++) {
		FILE	*fp;
		char	*buf;
		long	 n;

		if ((fp = fopen(argv[i], "rb")) == NULL) {
			perror(argv[i]);
			return 1;
		}
		fseek(fp, 0, SEEK_END);
		n = ftell(fp);
		rewind(fp);
		if ((buf = malloc((size_t)n + 1)) == NULL ||
		    fread(buf, 1, (size_t)n, fp) != (size_t)n) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			return 1;
		}
		fclose(fp);
		LLVMFuzzerTestOneInput((const uint8_t *)buf, (size_t)n);
		free(buf);
	}
	printf("fuzz replay: %d inputs, all properties held\n", argc - 1);
	return 0;
}
