/* cmd_keygen.c - pgward keygen: new X25519 identities; -y prints an identity's recipient. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cmd/commands.h"
#include "common/buf.h"
#include "common/err.h"
#include "common/fileio.h"
#include "common/secret.h"
#include "common/time.h"
#include "crypto/minisign.h"
#include "filter/filter.h"
#include "filter/keyfile.h"

static int print_public(struct pw_ctx *ctx)
{
	const char *path = pw_config_pos(ctx->cfg, 0);
	if (!path) {
		pw_error(PW_E_USAGE, "-y needs an identity file");
		return pw_error_hint("Run \"pgward keygen -y FILE\".");
	}
	struct pw_keyset ks = {0};
	int rc = pw_keyset_add_identity_file(&ks, path, pw_ask_passphrase, ctx->cfg);
	json_t *pubs = json_array();
	for (size_t i = 0; rc == 0 && i < ks.nids; i++) {
		char r[AGE_RECIPIENT_STRLEN + 1];
		age_recipient_encode(ks.ids[i].x25519.pub, r);
		printf("%s\n", r);
		json_array_append_new(pubs, json_string(r));
	}
	json_object_set_new(ctx->audit, "action", json_string("show-recipient"));
	json_object_set_new(ctx->audit, "file", json_string(path));
	json_object_set_new(ctx->audit, "recipients", pubs);
	pw_keyset_free(&ks);
	return rc;
}

static int write_file(const char *path, mode_t mode, const struct pw_buf *b)
{
	struct pw_outfile *of = NULL;
	int rc = pw_outfile_open(&of, path, mode, true);
	if (rc == 0)
		rc = pw_write_all(pw_outfile_fd(of), b->data, b->len, path);
	if (rc == 0)
		rc = pw_outfile_commit(of);
	pw_outfile_free(of);
	return rc;
}

/* --sign: a backup signing key (FILE, 0600) and its minisign public key (FILE.pub). */
static int keygen_sign(struct pw_ctx *ctx)
{
	const char *outpath = pw_cfg_str(ctx->cfg, PW_OPT_OUT_FILE);
	if (!outpath || pw_config_npos(ctx->cfg) > 0 || pw_cfg_bool(ctx->cfg, PW_OPT_PUBLIC)) {
		pw_error(PW_E_USAGE, "--sign needs -o FILE (and no other argument)");
		return pw_error_hint("Run \"pgward keygen --sign -o FILE\": it writes FILE and "
		                     "FILE.pub.");
	}
	if (pw_cfg_bool(ctx->cfg, PW_OPT_PASSPHRASE) || pw_cfg_bool(ctx->cfg, PW_OPT_ARMOR)) {
		pw_error(PW_E_USAGE, "--sign does not take --passphrase or --armor");
		return pw_error_hint("A signing key is used unattended on the backup host; it is "
		                     "written unencrypted with mode 0600 (see docs/signing.md).");
	}
	char pubpath[4096];
	if ((size_t)snprintf(pubpath, sizeof pubpath, "%s.pub", outpath) >= sizeof pubpath) {
		pw_error(PW_E_USAGE, "output path too long");
		return pw_error_hint("Use a shorter path.");
	}
	struct minisign_seckey sk;
	struct minisign_pubkey pk;
	int rc = minisign_keygen(&sk);
	if (rc < 0)
		return rc;
	minisign_seckey_public(&sk, &pk);
	struct pw_buf sec = PW_BUF_INIT(4096), pub = PW_BUF_INIT(4096);
	rc = minisign_seckey_write(&sk, &sec);
	minisign_seckey_wipe(&sk);
	if (rc == 0)
		rc = minisign_pubkey_write(&pk, &pub);
	/* the public file first: a failure leaves no secret key without its public half */
	if (rc == 0)
		rc = write_file(pubpath, 0644, &pub);
	if (rc == 0 && (rc = write_file(outpath, 0600, &sec)) < 0)
		unlink(pubpath);
	pw_buf_free(&sec, 1);
	pw_buf_free(&pub, 0);
	if (rc < 0)
		return rc;
	char b64[MINISIGN_PUB_B64_LEN + 1], kid[17];
	minisign_pubkey_b64(&pk, b64);
	minisign_keyid_hex(pk.keyid, kid);
	printf("%s\n", b64);
	fprintf(stderr,
	        "Signing key %s written to %s (keep it on the backup host: sign-key = %s)\n"
	        "Public key written to %s (on restore hosts: trusted-signer = %s)\n",
	        kid, outpath, outpath, pubpath, b64);
	json_object_set_new(ctx->audit, "action", json_string("generate-signing-key"));
	json_object_set_new(ctx->audit, "key_id", json_string(kid));
	json_object_set_new(ctx->audit, "public_key", json_string(b64));
	json_object_set_new(ctx->audit, "file", json_string(outpath));
	return 0;
}

int cmd_keygen(struct pw_ctx *ctx)
{
	if (pw_cfg_bool(ctx->cfg, PW_OPT_SIGN))
		return keygen_sign(ctx);
	if (pw_cfg_bool(ctx->cfg, PW_OPT_PUBLIC))
		return print_public(ctx);
	if (pw_config_npos(ctx->cfg) > 0) {
		pw_error(PW_E_USAGE, "unexpected argument \"%s\"", pw_config_pos(ctx->cfg, 0));
		return pw_error_hint("Use -o FILE to name the output file, or -y FILE to show a "
		                     "recipient.");
	}
	const char *outpath = pw_cfg_str(ctx->cfg, PW_OPT_OUT_FILE);
	if (outpath && strcmp(outpath, "-") == 0)
		outpath = NULL; /* -o - is standard output */
	bool protect = pw_cfg_bool(ctx->cfg, PW_OPT_PASSPHRASE);
	bool armor = pw_cfg_bool(ctx->cfg, PW_OPT_ARMOR);
	int rc = 0;
	if (protect && !outpath && !armor &&
	    (rc = pw_refuse_binary_tty(1, "an encrypted identity")) < 0)
		return rc;

	struct age_x25519 key;
	if ((rc = age_x25519_generate(&key)) < 0)
		return rc;
	char idstr[AGE_IDENTITY_STRLEN + 1], pub[AGE_RECIPIENT_STRLEN + 1], when[PW_TIME_MAX];
	age_identity_encode(&key, idstr);
	age_recipient_encode(key.pub, pub);
	OPENSSL_cleanse(&key, sizeof key);
	pw_time_format(pw_now(), PW_TIME_ISO, when);
	struct pw_buf text = PW_BUF_INIT(4096);
	pw_buf_printf(&text, "# created: %s\n# public key: %s\n%s\n", when, pub, idstr);
	OPENSSL_cleanse(idstr, sizeof idstr);

	struct pw_outfile *of = NULL;
	int fd = 1;
	if (outpath) {
		if ((rc = pw_outfile_open(&of, outpath, 0600, true)) < 0)
			goto out;
		fd = pw_outfile_fd(of);
	}
	struct flt *chain = flt_fd_sink(fd, outpath ? outpath : "standard output");
	if (protect) {
		struct pw_secret *pass = NULL;
		if ((rc = pw_ask_passphrase(ctx->cfg, "Enter passphrase to protect the identity: ",
		                            true, &pass)) < 0) {
			flt_chain_free(chain);
			goto out;
		}
		struct age_recipient r = {.kind = AGE_ID_SCRYPT,
		                          .passphrase = pass,
		                          .work =
		                              (unsigned)pw_cfg_int(ctx->cfg, PW_OPT_WORK_FACTOR)};
		struct flt *enc = NULL;
		rc = flt_age_encrypt(&enc, &r, 1, armor, chain);
		pw_secret_free(pass);
		if (rc < 0) {
			flt_chain_free(chain);
			goto out;
		}
		chain = enc;
	}
	rc = flt_write(chain, text.data, text.len);
	if (rc == 0)
		rc = flt_finish(chain);
	flt_chain_free(chain);
	if (rc == 0 && of)
		rc = pw_outfile_commit(of);
	if (rc == 0) {
		fprintf(stderr, "Public key: %s\n", pub);
		json_object_set_new(ctx->audit, "action", json_string("generate"));
		json_object_set_new(ctx->audit, "public_key", json_string(pub));
		json_object_set_new(ctx->audit, "file",
		                    outpath ? json_string(outpath) : json_null());
		json_object_set_new(ctx->audit, "passphrase_protected", json_boolean(protect));
	}
out:
	pw_outfile_free(of);
	pw_buf_free(&text, 1);
	return rc;
}
