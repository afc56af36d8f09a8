/* term.c - passphrase sources and terminal checks. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/safefile.h"
#include "common/secret.h"

static int from_file(const char *path, struct pw_secret **out)
{
	struct pw_buf b = PW_BUF_INIT(4096);
	int rc = pw_trusted_read(path, "passphrase file", PW_TRUST_SECRET, &b);
	if (rc == -PW_E_NOTFOUND) {
		pw_error(PW_E_PASSPHRASE, "could not open passphrase file \"%s\"", path);
		rc = pw_error_hint("Check the passphrase-file setting.");
	}
	if (rc == 0) {
		size_t n = strcspn(pw_buf_str(&b), "\r\n");
		*out = pw_secret_new(b.data, n);
	}
	pw_buf_free(&b, 1);
	return rc;
}

static int read_tty(int fd, const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	if (write(fd, prompt, strlen(prompt)) < 0)
		return -1;
	bool have = tcgetattr(fd, &old) == 0;
	if (have) {
		quiet = old;
		quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	size_t n = 0;
	char c;
	ssize_t r;
	while ((r = read(fd, &c, 1)) == 1 && c != '\n' && c != '\r')
		if (n + 1 < size)
			buf[n++] = c;
	buf[n] = 0;
	if (have)
		tcsetattr(fd, TCSAFLUSH, &old);
	if (write(fd, "\n", 1) < 0)
		return -1;
	return r < 0 ? -1 : 0;
}

int pw_ask_passphrase(void *arg, const char *prompt, bool confirm, struct pw_secret **out)
{
	struct pw_config *cfg = arg;
	*out = NULL;
	const char *file = pw_cfg_str(cfg, PW_OPT_PASSPHRASE_FILE);
	if (file)
		return from_file(file, out);
	const char *val = pw_cfg_str(cfg, PW_OPT_KEY_PASSPHRASE);
	if (val) {
		if (!*val) {
			pw_error(PW_E_PASSPHRASE, "the key-passphrase setting is empty");
			return pw_error_hint("Set a non-empty passphrase.");
		}
		*out = pw_secret_from_str(val);
		return 0;
	}
	int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		pw_error(PW_E_PASSPHRASE, "a passphrase is needed but there is no terminal to ask");
		return pw_error_hint("Set passphrase-file (a mode 0600 file) or the "
		                     "PGWARD_KEY_PASSPHRASE environment variable.");
	}
	char a[1024], b[1024];
	int rc = 0;
	if (read_tty(fd, prompt, a, sizeof a) < 0) {
		rc = pw_error(PW_E_PASSPHRASE, "could not read the passphrase from the terminal");
	} else if (!*a) {
		pw_error(PW_E_PASSPHRASE, "empty passphrase");
		rc = pw_error_hint("Type a passphrase; an empty one protects nothing.");
	} else if (confirm) {
		if (read_tty(fd, "Confirm passphrase: ", b, sizeof b) < 0 || strcmp(a, b) != 0) {
			pw_error(PW_E_PASSPHRASE, "the passphrases do not match");
			rc = pw_error_hint(
			    "Run the command again and type the same passphrase twice.");
		}
	}
	if (rc == 0)
		*out = pw_secret_from_str(a);
	OPENSSL_cleanse(a, sizeof a);
	OPENSSL_cleanse(b, sizeof b);
	close(fd);
	return rc;
}

int pw_refuse_binary_tty(int fd, const char *what)
{
	if (!isatty(fd))
		return 0;
	pw_error(PW_E_INSECURE, "refusing to write %s to a terminal", what);
	return pw_error_hint("Redirect the output, name a file with -o, or use -a for ASCII "
	                     "armor.");
}
