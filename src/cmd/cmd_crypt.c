/* cmd_crypt.c - pgward encrypt / decrypt: age files, streaming, atomic output files. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/commands.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/mem.h"
#include "common/secret.h"
#include "filter/filter.h"
#include "filter/keyfile.h"

static int open_input(struct pw_ctx *ctx, int *fd, const char **name)
{
	const char *in = pw_config_pos(ctx->cfg, 0);
	if (!in || strcmp(in, "-") == 0) {
		*fd = 0;
		*name = "standard input";
		return 0;
	}
	*fd = open(in, O_RDONLY | O_CLOEXEC);
	*name = in;
	if (*fd < 0) {
		pw_error(PW_E_NOTFOUND, "could not open input file \"%s\"", in);
		return pw_error_hint("Check the path; use - or nothing for standard input.");
	}
	return 0;
}

static int work_factor(struct pw_ctx *ctx, enum pw_opt_id id, long long lo, long long hi,
                       unsigned *out)
{
	long long w = pw_cfg_int(ctx->cfg, id);
	if (w < lo || w > hi) {
		pw_error(PW_E_CONFIG, "%s must be between %lld and %lld, not %lld (%s)",
		         pw_opt_def(id)->name, lo, hi, w, pw_cfg_source(ctx->cfg, id));
		return pw_error_hint("The default is %s.", pw_opt_def(id)->def);
	}
	*out = (unsigned)w;
	return 0;
}

/* Run input through chain into the output (a committed file, or stdout). */
static int run_chain(struct pw_ctx *ctx, int infd, const char *inname, struct flt *head,
                     struct pw_outfile *of)
{
	int rc = flt_pump_fd(infd, inname, head);
	if (rc == 0 && of)
		rc = pw_outfile_commit(of);
	json_object_set_new(ctx->audit, "bytes_in", json_integer((json_int_t)head->bytes_in));
	return rc;
}

int cmd_encrypt(struct pw_ctx *ctx)
{
	struct pw_keyset ks = {0};
	const char *const *vals;
	size_t n;
	int rc = 0, infd = -1;
	const char *inname = NULL;
	bool armor = pw_cfg_bool(ctx->cfg, PW_OPT_ARMOR);
	bool pass = pw_cfg_bool(ctx->cfg, PW_OPT_PASSPHRASE);
	const char *outpath = pw_cfg_str(ctx->cfg, PW_OPT_OUT_FILE);
	if (outpath && strcmp(outpath, "-") == 0)
		outpath = NULL; /* -o - is standard output */
	struct pw_outfile *of = NULL;
	struct flt *chain = NULL;
	unsigned work = 0;

	n = pw_cfg_list(ctx->cfg, PW_OPT_RECIPIENT, &vals);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipient_str(&ks, vals[i]);
	n = pw_cfg_list(ctx->cfg, PW_OPT_RECIPIENTS_FILE, &vals);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_recipients_file(&ks, vals[i]);
	if (rc < 0)
		goto out;
	if (pass && ks.nrcpts) {
		pw_error(PW_E_USAGE, "-p cannot be combined with -r or -R");
		rc = pw_error_hint("Encrypt either to recipients or to a passphrase.");
		goto out;
	}
	if (!pass && !ks.nrcpts) {
		pw_error(PW_E_USAGE, "no recipients");
		rc = pw_error_hint("Name at least one recipient with -r age1... or -R FILE, or use "
		                   "-p for a passphrase.");
		goto out;
	}
	if ((rc = open_input(ctx, &infd, &inname)) < 0)
		goto out;
	if (!outpath && !armor && (rc = pw_refuse_binary_tty(1, "encrypted binary data")) < 0)
		goto out;
	if (pass) {
		struct pw_secret *p = NULL;
		if ((rc = work_factor(ctx, PW_OPT_WORK_FACTOR, 10, 22, &work)) < 0 ||
		    (rc = pw_ask_passphrase(ctx->cfg, "Enter passphrase: ", true, &p)) < 0)
			goto out;
		pw_keyset_add_passphrase_recipient(&ks, p, work);
	}
	if (outpath && (rc = pw_outfile_open(&of, outpath, 0644, false)) < 0)
		goto out;
	struct flt *sink = of ? flt_fd_sink_writeback(pw_outfile_fd(of), outpath)
	                      : flt_fd_sink(1, "standard output");
	if ((rc = flt_age_encrypt(&chain, ks.rcpts, ks.nrcpts, armor, sink)) < 0) {
		flt_chain_free(sink);
		goto out;
	}
	json_t *rl = json_array();
	for (size_t i = 0; i < ks.nrcpts; i++) {
		char r[AGE_RECIPIENT_STRLEN + 1];
		if (ks.rcpts[i].kind != AGE_ID_X25519)
			continue;
		age_recipient_encode(ks.rcpts[i].pub, r);
		json_array_append_new(rl, json_string(r));
	}
	json_object_set_new(ctx->audit, "recipients", rl);
	json_object_set_new(ctx->audit, "passphrase", json_boolean(pass));
	json_object_set_new(ctx->audit, "armor", json_boolean(armor));
	json_object_set_new(ctx->audit, "input", json_string(inname));
	json_object_set_new(ctx->audit, "output",
	                    json_string(outpath ? outpath : "standard output"));
	rc = run_chain(ctx, infd, inname, chain, of);
out:
	flt_chain_free(chain);
	pw_outfile_free(of);
	if (infd > 0)
		close(infd);
	pw_keyset_free(&ks);
	return rc;
}

struct ask_state {
	struct pw_config *cfg;
	bool asked;
};

static int ask_for_file(void *arg, struct pw_secret **out)
{
	struct ask_state *st = arg;
	st->asked = true;
	return pw_ask_passphrase(st->cfg, "Enter passphrase: ", false, out);
}

int cmd_decrypt(struct pw_ctx *ctx)
{
	struct pw_keyset ks = {0};
	const char *const *vals;
	int rc = 0, infd = -1;
	const char *inname = NULL;
	const char *outpath = pw_cfg_str(ctx->cfg, PW_OPT_OUT_FILE);
	if (outpath && strcmp(outpath, "-") == 0)
		outpath = NULL; /* -o - is standard output */
	struct pw_outfile *of = NULL;
	struct flt *chain = NULL;
	unsigned max_work = 0;
	struct ask_state ask = {ctx->cfg, false};

	if ((rc = work_factor(ctx, PW_OPT_MAX_WORK_FACTOR, 1, 30, &max_work)) < 0)
		goto out;
	size_t n = pw_cfg_list(ctx->cfg, PW_OPT_IDENTITY, &vals);
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = pw_keyset_add_identity_file(&ks, vals[i], pw_ask_passphrase, ctx->cfg);
	if (rc < 0)
		goto out;
	json_t *il = json_array();
	for (size_t i = 0; i < ks.nids; i++) {
		char r[AGE_RECIPIENT_STRLEN + 1];
		age_recipient_encode(ks.ids[i].x25519.pub, r);
		json_array_append_new(il, json_string(r));
	}
	json_object_set_new(ctx->audit, "identities", il);
	if (!ks.nids) {
		/* no identities: the file may be passphrase-encrypted; ask only if it is */
		struct pw_keyset *k = &ks;
		k->ids = pw_calloc(1, sizeof *k->ids);
		k->nids = 1;
		k->ids[0] = (struct age_identity){.kind = AGE_ID_SCRYPT,
		                                  .max_work = max_work,
		                                  .ask = ask_for_file,
		                                  .ask_arg = &ask};
	}
	for (size_t i = 0; i < ks.nids; i++)
		ks.ids[i].max_work = max_work;
	if ((rc = open_input(ctx, &infd, &inname)) < 0)
		goto out;
	if (outpath && (rc = pw_outfile_open(&of, outpath, 0600, false)) < 0)
		goto out;
	struct flt *sink = of ? flt_fd_sink_writeback(pw_outfile_fd(of), outpath)
	                      : flt_fd_sink(1, "standard output");
	chain = flt_age_decrypt(ks.ids, ks.nids, AGE_ARMOR_AUTO, sink);
	json_object_set_new(ctx->audit, "input", json_string(inname));
	json_object_set_new(ctx->audit, "output",
	                    json_string(outpath ? outpath : "standard output"));
	rc = run_chain(ctx, infd, inname, chain, of);
	if (rc == -PW_E_AGE_NOMATCH && n == 0 && !ask.asked) {
		pw_error(PW_E_AGE_NOMATCH, "the file is encrypted to public keys, but no identity "
		                           "was given");
		pw_error_hint("Name the identity file with -i FILE.");
	}
out:
	flt_chain_free(chain);
	pw_outfile_free(of);
	if (infd > 0)
		close(infd);
	pw_keyset_free(&ks);
	return rc;
}
