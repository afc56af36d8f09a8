/*
 * wal.h - the WAL object layout of the repository, alone (pure: no I/O).
 *
 *   <stanza>/wal/<TLI 8 hex>/<segment 24 hex>.zst.age                   a complete segment
 *   <stanza>/wal/<TLI 8 hex>/<segment 24 hex>.partial.<end 8 hex>.zst.age the first <end>
 *                                           bytes of an open segment (the largest end wins)
 *   <stanza>/wal/<TLI 8 hex>.history.zst.age                            a timeline history
 *
 * each beside <object>.minisig: a minisign signature of the stored bytes whose trusted
 * comment binds the stanza, the timeline, the object's key, and the plaintext's length
 * and SHA-256, so an object moved to another name or stanza, or forged by someone holding
 * only the public (recipient) key, is refused.
 */
#ifndef PW_REPO_WAL_H
#define PW_REPO_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define WAL_DIR "wal"
#define WAL_OBJ_SUFFIX ".zst.age"
#define WAL_KEY_MAX 256
#define WAL_GAPS_MAX 32

enum wal_kind { WAL_SEGMENT, WAL_PARTIAL, WAL_HISTORY };

struct wal_obj {
	enum wal_kind kind;
	bool signature; /* the key is <object>.minisig */
	uint32_t tli;
	uint32_t log, seg; /* the segment name's two halves (segments and partials) */
	uint32_t end;      /* partials: bytes of the segment it holds */
};

/* Segment numbers <-> file names ("000000010000000000000003"). segsize: a power of two. */
void wal_seg_name(uint32_t tli, uint64_t segno, uint32_t segsize, char out[25]);
/* Parse a 24-hex-digit segment file name; -PW_E_USAGE when it is not one. */
int wal_seg_parse(const char *name, uint32_t segsize, uint32_t *tli, uint64_t *segno);
/* "0000000N.history" -> N; -PW_E_USAGE when not one. */
int wal_history_parse(const char *name, uint32_t *tli);

int wal_key_segment(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                    char out[WAL_KEY_MAX]);
int wal_key_partial(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                    uint32_t end, char out[WAL_KEY_MAX]);
int wal_key_history(const char *stanza, uint32_t tli, char out[WAL_KEY_MAX]);
/* "<stanza>/wal/<TLI>/<segment>.partial." : the prefix of a segment's partials. */
int wal_key_partial_prefix(const char *stanza, uint32_t tli, uint64_t segno, uint32_t segsize,
                           char out[WAL_KEY_MAX]);
/* Parse a key of stanza's WAL: 0 and o, or -PW_E_NOTFOUND when the key is not a WAL
 * object name (strictly: exact hex widths, uppercase, no extra characters). */
int wal_key_parse(const char *stanza, const char *key, struct wal_obj *o);

/* The key of the object for a file PostgreSQL names (%f of restore_command and
 * archive_command): a segment or a history file; -PW_E_USAGE for anything else. */
int wal_key_for_file(const char *stanza, const char *fname, uint32_t *tli, bool *history,
                     char out[WAL_KEY_MAX]);

/* The trusted comment of an object's signature (segsize: the cluster's WAL segment size,
 * so a partial can be padded to it; 0 for history files). */
struct wal_sig_info {
	uint64_t length;
	uint32_t segsize;
	uint8_t sha256[32];
	/* when the writer signed the object (its clock): the WAL in it was in pgward's hands
	 * by then. " stored=<compact time>" after the hash; 0 in comments written before the
	 * field (those still check) and in what wal_sig_comment is given as "not recorded" */
	time_t stored;
};
int wal_sig_comment(const char *stanza, const char *key, uint32_t tli,
                    const struct wal_sig_info *in, char *out, size_t size);
/* Check a trusted comment against what the reader expects (stanza, key, timeline); 0 and
 * the plaintext's length, segment size and SHA-256, or -PW_E_SIGNATURE (recorded). */
int wal_sig_comment_check(const char *comment, const char *stanza, const char *key, uint32_t tli,
                          struct wal_sig_info *out);

/* Coverage of one timeline, from a listing. */
struct wal_gap {
	uint64_t from, to; /* LSNs: [from, to) is missing */
};
struct wal_coverage {
	uint32_t tli;
	uint64_t from, to; /* LSNs: WAL is stored for [from, to) apart from the gaps */
	bool ends_partial; /* to is the end of a partial object */
	bool history;      /* the timeline's history file and its signature are listed */
	size_t ngaps;      /* all gaps; the first WAL_GAPS_MAX are in gap[] */
	struct wal_gap gap[WAL_GAPS_MAX];
	size_t segments, partials;
};
/* Per timeline, ascending. objs need not be sorted; signatures and unknown entries are
 * ignored. *out is allocated (pw_free). A partial with end == segsize counts as the
 * complete segment. */
int wal_coverage(const struct wal_obj *objs, size_t n, uint32_t segsize, struct wal_coverage **out,
                 size_t *nout);

/* ---- the recovery window (pure) ---- */

/* A physical base backup, from its signed manifest. */
struct wal_base {
	uint32_t tli;
	uint64_t start_lsn, stop_lsn;
	time_t finished;
};

/* How far a base's WAL goes without a gap. */
struct wal_reach {
	bool consistent; /* WAL from start_lsn to stop_lsn is stored: the base can be restored */
	uint32_t tli;    /* WAL is continuous from start_lsn up to lsn on timeline tli, */
	uint64_t lsn;    /* following timelines whose history is stored and whose WAL begins
	                  * before the previous one's ends */
	bool to_end;     /* ... and lsn is the end of the stored WAL (its newest timeline) */
	bool unknown;    /* more gaps than coverage records: the reach is a lower bound */
};
void wal_reach(const struct wal_coverage *cov, size_t nc, const struct wal_base *b,
               struct wal_reach *out);

/* "You can restore to any moment from <from> to <to>": from the end (finished time) of the
 * oldest base that is consistent and whose WAL reaches the end of the stored WAL, to
 * end_time, the signed time of the object that ends the stored WAL (0: unknown, the
 * window has no end time). any is false when no base reaches the end. */
struct wal_window {
	bool any;
	size_t base; /* index into bases */
	time_t from, to;
	uint32_t tli; /* the end of the stored WAL */
	uint64_t lsn;
};
void wal_window(const struct wal_coverage *cov, size_t nc, const struct wal_base *bases, size_t nb,
                time_t end_time, struct wal_window *out);

#endif
