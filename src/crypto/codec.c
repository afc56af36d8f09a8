/*
 * codec.c - streaming age encryption and decryption (push style).
 *
 * Decryption releases a chunk's plaintext only after the chunk authenticates.
 * The last chunk is only known at the end of input, so up to one encrypted
 * chunk is held back; memory is constant in the file size.
 */
#include "crypto/age.h"

#include <string.h>

#include <openssl/crypto.h>

#include "common/enc.h"
#include "common/err.h"
#include "common/mem.h"
#include "crypto/prim.h"
#include "crypto/recipients.h"

static int header_mac(const uint8_t file_key[AGE_FILE_KEY_LEN], const uint8_t *hdr, size_t n,
                      uint8_t mac[32])
{
	uint8_t key[32];
	int rc = pw_hkdf_sha256(file_key, AGE_FILE_KEY_LEN, NULL, 0, "header", key, 32);
	if (rc == 0)
		rc = pw_hmac_sha256(key, 32, hdr, n, mac);
	OPENSSL_cleanse(key, sizeof key);
	return rc;
}

/* ===== encryption ===== */

struct age_enc {
	age_emit_fn emit;
	void *arg;
	struct age_armor_enc *armor;
	struct pw_buf head; /* header + nonce, emitted before the first chunk */
	struct age_stream *stream;
	uint8_t *pend; /* AGE_CHUNK bytes of plaintext not yet sealed */
	size_t npend;
	uint8_t *out; /* BATCH encrypted chunks, emitted together */
	size_t nout;
	bool finished;
};

#define BATCH 16 /* chunks per emit: 1 MiB writes downstream */

static int enc_out(struct age_enc *e, const uint8_t *p, size_t n)
{
	if (e->armor)
		return age_armor_enc_update(e->armor, p, n);
	return e->emit(e->arg, p, n);
}

static int enc_flush_head(struct age_enc *e)
{
	if (!e->head.len)
		return 0;
	int rc = enc_out(e, e->head.data, e->head.len);
	pw_buf_free(&e->head, 0);
	return rc;
}

int age_enc_new(struct age_enc **out, const struct age_recipient *r, size_t n, bool armor,
                age_emit_fn emit, void *arg)
{
	uint8_t file_key[AGE_FILE_KEY_LEN], nonce[AGE_NONCE_LEN], mac[32];
	char macb64[48];
	struct age_header h = {0};
	int rc;

	*out = NULL;
	if (n == 0) {
		pw_error(PW_E_KEY, "no recipients");
		return pw_error_hint("Name at least one recipient with -r, -R or -p.");
	}
	for (size_t i = 0; i < n; i++)
		if (r[i].kind == AGE_ID_SCRYPT && n > 1) {
			pw_error(PW_E_USAGE,
			         "a passphrase cannot be combined with other recipients");
			return pw_error_hint(
			    "Encrypt with either -p or recipients (-r/-R), not both.");
		}
	if ((rc = pw_random(file_key, sizeof file_key)) < 0 ||
	    (rc = pw_random(nonce, sizeof nonce)) < 0)
		return rc;

	h.stanzas = pw_calloc(n, sizeof *h.stanzas);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (r[i].kind == AGE_ID_X25519)
			rc = age_x25519_wrap(r[i].pub, file_key, &h.stanzas[i]);
		else
			rc = age_scrypt_wrap(r[i].passphrase, r[i].work, file_key, &h.stanzas[i]);
		if (rc == 0)
			h.nstanzas++;
	}
	struct age_enc *e = pw_calloc(1, sizeof *e);
	e->emit = emit;
	e->arg = arg;
	e->head = PW_BUF_INIT(AGE_HEADER_MAX);
	if (rc == 0)
		rc = age_header_encode_stanzas(&h, &e->head);
	if (rc == 0)
		rc = header_mac(file_key, e->head.data, e->head.len, mac);
	if (rc == 0) {
		pw_b64_encode(mac, 32, macb64, false);
		rc = pw_buf_printf(&e->head, " %s\n", macb64);
	}
	if (rc == 0)
		rc = pw_buf_append(&e->head, nonce, sizeof nonce);
	if (rc == 0 && !(e->stream = age_stream_new(file_key, nonce)))
		rc = -PW_E_CRYPTO;
	age_header_free(&h);
	OPENSSL_cleanse(file_key, sizeof file_key);
	if (rc < 0) {
		age_enc_free(e);
		return rc;
	}
	if (armor)
		e->armor = age_armor_enc_new(emit, arg);
	e->pend = pw_malloc(AGE_CHUNK);
	e->out = pw_malloc(BATCH * AGE_ENC_CHUNK);
	*out = e;
	return 0;
}

static int enc_flush(struct age_enc *e)
{
	int rc = e->nout ? enc_out(e, e->out, e->nout) : 0;
	e->nout = 0;
	return rc;
}

static int enc_seal(struct age_enc *e, const uint8_t *p, size_t n, bool last)
{
	if (e->nout + AGE_ENC_CHUNK > BATCH * AGE_ENC_CHUNK) {
		int rc = enc_flush(e);
		if (rc < 0)
			return rc;
	}
	int rc = age_stream_seal(e->stream, p, n, last, e->out + e->nout);
	if (rc == 0)
		e->nout += n + AGE_TAG;
	return rc;
}

int age_enc_update(struct age_enc *e, const uint8_t *p, size_t n)
{
	int rc = enc_flush_head(e);
	PW_CHECK(!e->finished);
	while (rc == 0 && n) {
		if (e->npend == AGE_CHUNK) { /* a full chunk with more data after it */
			rc = enc_seal(e, e->pend, AGE_CHUNK, false);
			e->npend = 0;
		} else if (e->npend == 0 && n > AGE_CHUNK) {
			rc = enc_seal(e, p, AGE_CHUNK, false);
			p += AGE_CHUNK;
			n -= AGE_CHUNK;
		} else {
			size_t take = AGE_CHUNK - e->npend < n ? AGE_CHUNK - e->npend : n;
			memcpy(e->pend + e->npend, p, take);
			e->npend += take;
			p += take;
			n -= take;
		}
	}
	return rc == 0 ? enc_flush(e) : rc;
}

int age_enc_final(struct age_enc *e)
{
	PW_CHECK(!e->finished);
	int rc = enc_flush_head(e);
	if (rc == 0)
		rc = enc_seal(e, e->pend, e->npend, true);
	if (rc == 0)
		rc = enc_flush(e);
	e->npend = 0;
	if (rc == 0 && e->armor)
		rc = age_armor_enc_final(e->armor);
	e->finished = true;
	return rc;
}

void age_enc_free(struct age_enc *e)
{
	if (!e)
		return;
	age_stream_free(e->stream);
	age_armor_enc_free(e->armor);
	pw_buf_free(&e->head, 0);
	if (e->pend)
		OPENSSL_cleanse(e->pend, AGE_CHUNK);
	pw_free(e->pend);
	pw_free(e->out);
	pw_free(e);
}

/* ===== decryption ===== */

enum dstate { D_SNIFF, D_HEADER, D_NONCE, D_PAYLOAD, D_DONE, D_FAILED };

struct age_dec {
	age_emit_fn emit;
	void *arg;
	struct age_identity *ids;
	size_t nids;
	enum age_armor_mode armor_mode;
	struct age_armor_dec *armor;
	enum dstate st;
	struct pw_buf hbuf;
	uint8_t nonce[AGE_NONCE_LEN];
	size_t nnonce;
	uint8_t file_key[AGE_FILE_KEY_LEN];
	struct age_stream *stream;
	uint8_t *pend; /* up to AGE_ENC_CHUNK bytes of ciphertext held back */
	size_t npend;
	uint8_t *plain; /* BATCH chunks of authenticated plaintext not yet emitted */
	size_t nplain;
	struct pw_secret *asked; /* a passphrase obtained through an identity's ask() */
};

static int bin_update(void *arg, const uint8_t *p, size_t n);

struct age_dec *age_dec_new(const struct age_identity *ids, size_t n, enum age_armor_mode armor,
                            age_emit_fn emit, void *arg)
{
	struct age_dec *d = pw_calloc(1, sizeof *d);
	d->emit = emit;
	d->arg = arg;
	d->ids = pw_calloc(n ? n : 1, sizeof *ids);
	if (n)
		memcpy(d->ids, ids, n * sizeof *ids);
	d->nids = n;
	d->armor_mode = armor;
	d->st = D_SNIFF;
	d->hbuf = PW_BUF_INIT(AGE_HEADER_MAX + 1);
	return d;
}

void age_dec_free(struct age_dec *d)
{
	if (!d)
		return;
	OPENSSL_cleanse(d->ids, (d->nids ? d->nids : 1) * sizeof *d->ids);
	pw_free(d->ids);
	age_armor_dec_free(d->armor);
	pw_buf_free(&d->hbuf, 0);
	age_stream_free(d->stream);
	if (d->plain)
		OPENSSL_cleanse(d->plain, BATCH * AGE_CHUNK);
	pw_free(d->plain);
	pw_free(d->pend);
	OPENSSL_cleanse(d->file_key, sizeof d->file_key);
	pw_secret_free(d->asked);
	pw_free(d);
}

static int no_match(void)
{
	pw_error(PW_E_AGE_NOMATCH, "no identity matched any of the file's recipients");
	return pw_error_hint("Use the identity (or passphrase) the file was encrypted to; "
	                     "\"pgward keygen -y FILE\" prints an identity's recipient.");
}

/* Header complete in hbuf: unwrap the file key and check the MAC. */
static int open_header(struct age_dec *d, const struct age_header *h)
{
	bool found = false;
	int rc = 0;
	for (size_t i = 0; i < h->nstanzas; i++)
		if (strcmp(h->stanzas[i].type, "scrypt") == 0 && h->nstanzas != 1) {
			pw_error(PW_E_AGE_HEADER,
			         "malformed age header: an scrypt stanza must be the only one");
			return pw_error_hint("The file was not made by a conforming age "
			                     "implementation, or it was altered.");
		}
	for (size_t k = 0; k < d->nids && !found; k++) {
		const struct age_identity *id = &d->ids[k];
		for (size_t i = 0; i < h->nstanzas; i++) {
			const struct age_stanza *s = &h->stanzas[i];
			if (id->kind == AGE_ID_X25519 && strcmp(s->type, "X25519") == 0)
				rc = age_x25519_unwrap(&id->x25519, s, d->file_key);
			else if (id->kind == AGE_ID_SCRYPT && strcmp(s->type, "scrypt") == 0) {
				const struct pw_secret *pass = id->passphrase;
				if (!pass && id->ask) {
					if (!d->asked && (rc = id->ask(id->ask_arg, &d->asked)) < 0)
						return rc;
					pass = d->asked;
				}
				if (!pass)
					continue;
				rc = age_scrypt_unwrap(pass, id->max_work, s, d->file_key);
			} else
				continue;
			if (rc < 0)
				return rc;
			if (rc == 0) {
				found = true;
				break;
			}
		}
	}
	if (!found)
		return no_match();
	uint8_t mac[32];
	if ((rc = header_mac(d->file_key, d->hbuf.data, h->mac_covered, mac)) < 0)
		return rc;
	if (CRYPTO_memcmp(mac, h->mac, 32) != 0) {
		pw_error(PW_E_AGE_MAC, "age header MAC mismatch: the header was altered");
		return pw_error_hint("Do not use this file; obtain an intact copy.");
	}
	return 0;
}

static int payload_bad(const char *what)
{
	pw_error(PW_E_AGE_PAYLOAD, "age payload failure: %s", what);
	return pw_error_hint("The encrypted data is truncated or was altered; output before this "
	                     "point was authentic, but the file is incomplete.");
}

/* Release the authenticated plaintext gathered so far. */
static int dec_flush(struct age_dec *d)
{
	int rc = d->nplain ? d->emit(d->arg, d->plain, d->nplain) : 0;
	d->nplain = 0;
	return rc;
}

/* Decrypt one chunk of n ciphertext bytes; more = input continues after it. */
static int open_chunk(struct age_dec *d, const uint8_t *c, size_t n, bool more)
{
	int rc;
	if (d->nplain + AGE_CHUNK > BATCH * AGE_CHUNK && (rc = dec_flush(d)) < 0)
		return rc;
	uint8_t *out = d->plain + d->nplain;
	if (n == AGE_ENC_CHUNK) {
		rc = age_stream_open(d->stream, c, n, false, out);
		if (rc == 0) {
			d->nplain += AGE_CHUNK;
			if (!more)
				rc = payload_bad(
				    "the file ends without its final chunk (truncated)");
			return rc;
		}
		if (rc < 0)
			return rc;
		rc = age_stream_open(d->stream, c, n, true, out);
		if (rc < 0)
			return rc;
		if (rc)
			return payload_bad(age_stream_counter(d->stream)
			                       ? "a chunk does not authenticate"
			                       : "the first chunk does not authenticate");
		d->st = D_DONE;
		d->nplain += AGE_CHUNK;
		if (more)
			return payload_bad("trailing data after the final chunk");
		return 0;
	}
	/* a short chunk: only valid as the last one */
	if (n < AGE_TAG)
		return payload_bad(n > 0 ? "truncated chunk"
		                   : age_stream_counter(d->stream) == 0
		                       ? "no payload chunks"
		                       : "the file ends without its final chunk (truncated)");
	if (n == AGE_TAG && age_stream_counter(d->stream) != 0)
		return payload_bad("empty final chunk after a full chunk");
	rc = age_stream_open(d->stream, c, n, true, out);
	if (rc < 0)
		return rc;
	if (rc)
		return payload_bad("a chunk does not authenticate, or the file is truncated");
	d->st = D_DONE;
	d->nplain += n - AGE_TAG;
	return 0;
}

static int payload_update(struct age_dec *d, const uint8_t *p, size_t n)
{
	int rc = 0;
	while (rc == 0 && n) {
		if (d->st == D_DONE)
			return payload_bad("trailing data after the final chunk");
		if (d->npend == AGE_ENC_CHUNK) {
			rc = open_chunk(d, d->pend, AGE_ENC_CHUNK, true);
			d->npend = 0;
		} else if (d->npend == 0 && n > AGE_ENC_CHUNK) {
			rc = open_chunk(d, p, AGE_ENC_CHUNK, true);
			p += AGE_ENC_CHUNK;
			n -= AGE_ENC_CHUNK;
		} else {
			size_t take = AGE_ENC_CHUNK - d->npend < n ? AGE_ENC_CHUNK - d->npend : n;
			memcpy(d->pend + d->npend, p, take);
			d->npend += take;
			p += take;
			n -= take;
		}
	}
	return rc;
}

static int bin_update(void *arg, const uint8_t *p, size_t n)
{
	struct age_dec *d = arg;
	int rc;
	if (d->st == D_HEADER) {
		struct age_header h;
		size_t room = d->hbuf.max - d->hbuf.len;
		size_t take = n < room ? n : room;
		if ((rc = pw_buf_append(&d->hbuf, p, take)) < 0)
			return rc;
		rc = age_header_parse(d->hbuf.data, d->hbuf.len, &h);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			if (take < n) {
				pw_error(PW_E_AGE_HEADER, "malformed age header: header too long");
				return pw_error_hint("The input is not an age-encrypted file.");
			}
			return 0;
		}
		rc = open_header(d, &h);
		size_t hlen = h.len;
		age_header_free(&h);
		if (rc < 0)
			return rc;
		/* bytes after the header: nonce, then payload */
		size_t extra = d->hbuf.len - hlen;
		const uint8_t *rest = d->hbuf.data + hlen;
		d->st = D_NONCE;
		/* p may alias nothing in hbuf; pass the leftover of hbuf, then the untaken input */
		uint8_t *tmp = pw_malloc(extra ? extra : 1);
		memcpy(tmp, rest, extra);
		rc = bin_update(d, tmp, extra);
		pw_free(tmp);
		if (rc == 0 && take < n)
			rc = bin_update(d, p + take, n - take);
		return rc;
	}
	if (d->st == D_NONCE) {
		size_t take = AGE_NONCE_LEN - d->nnonce < n ? AGE_NONCE_LEN - d->nnonce : n;
		memcpy(d->nonce + d->nnonce, p, take);
		d->nnonce += take;
		p += take;
		n -= take;
		if (d->nnonce < AGE_NONCE_LEN)
			return 0;
		d->stream = age_stream_new(d->file_key, d->nonce);
		if (!d->stream)
			return -PW_E_CRYPTO;
		d->pend = pw_malloc(AGE_ENC_CHUNK);
		d->plain = pw_malloc(BATCH * AGE_CHUNK);
		d->st = D_PAYLOAD;
		pw_buf_free(&d->hbuf, 0);
	}
	if (!n)
		return 0;
	return payload_update(d, p, n);
}

static int fail(struct age_dec *d, int rc)
{
	if (rc < 0)
		d->st = D_FAILED;
	return rc;
}

static int dec_done(struct age_dec *d, int rc)
{
	/* release authenticated plaintext, also before reporting a failure after it */
	int frc = d->plain ? dec_flush(d) : 0;
	return rc < 0 ? rc : frc;
}

int age_dec_update(struct age_dec *d, const uint8_t *p, size_t n)
{
	if (d->st == D_FAILED)
		return -pw_error_code();
	if (n == 0)
		return 0;
	if (d->st == D_SNIFF) {
		bool armored =
		    d->armor_mode == AGE_ARMOR_YES ||
		    (d->armor_mode == AGE_ARMOR_AUTO &&
		     (p[0] == '-' || p[0] == ' ' || p[0] == '\t' || p[0] == '\r' || p[0] == '\n'));
		if (armored)
			d->armor = age_armor_dec_new(bin_update, d);
		d->st = D_HEADER;
	}
	if (d->armor)
		return fail(d, dec_done(d, age_armor_dec_update(d->armor, p, n)));
	return fail(d, dec_done(d, bin_update(d, p, n)));
}

int age_dec_final(struct age_dec *d)
{
	int rc;
	if (d->st == D_FAILED)
		return -pw_error_code();
	if (d->armor && (rc = age_armor_dec_final(d->armor)) < 0)
		return fail(d, rc);
	switch (d->st) {
	case D_SNIFF:
	case D_HEADER:
		pw_error(PW_E_AGE_HEADER, "malformed age header: %s",
		         d->hbuf.len ? "the header is incomplete" : "the input is empty");
		rc = pw_error_hint("The input is not an age-encrypted file, or it was truncated.");
		break;
	case D_NONCE:
		pw_error(PW_E_AGE_HEADER, "malformed age header: the payload nonce is missing");
		rc = pw_error_hint("The file was truncated right after its header.");
		break;
	case D_PAYLOAD:
		rc = open_chunk(d, d->pend, d->npend, false);
		d->npend = 0;
		if (rc == 0 && d->st != D_DONE)
			rc = payload_bad("the file ends without its final chunk (truncated)");
		break;
	case D_DONE:
		rc = 0;
		break;
	default:
		rc = -pw_error_code();
	}
	return fail(d, dec_done(d, rc));
}
