/* leopards output folders: a folder that leopards writes (a report, an export, a demo)
 * is built new beside its place and swapped in only when complete, and an existing
 * folder is replaced only when leopards itself wrote it. Such a folder holds a marker
 * file (LP_OUTDIR_MARKER) listing every file and folder in it; a folder with anything
 * the marker does not list (a database, a key, a note of the user's) is refused and
 * nothing in it is touched. Removal unlinks exactly the listed entries; nothing is
 * ever run through a shell.
 *
 * Use:
 *   lp_outdir *o;
 *   if (lp_outdir_begin("report", "analysis", &o, err)) return ...;  // refusal: nothing changed
 *   ... write files under lp_outdir_path(o) ...
 *   if (failed) { lp_outdir_abort(o); return ...; }                 // the old folder is untouched
 *   return lp_outdir_commit(o, err);                                // marker written, folder swapped in
 */
#ifndef LEOPARDS_OUTDIR_H
#define LEOPARDS_OUTDIR_H

#include <leopards/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Name of the marker file inside an output folder. */
#define LP_OUTDIR_MARKER ".leopards-output"

typedef struct lp_outdir lp_outdir;

/* May `dir` be replaced? LP_OK when it does not exist, is an empty folder, or is an
 * output folder leopards wrote whose every entry its marker lists. Otherwise LP_EDENIED
 * with a message naming the folder and the first entry that is not ours (or LP_EIO when
 * it is not a folder or cannot be read). Never changes anything. */
lp_status lp_outdir_check(const char *dir, lp_error *err);

/* Start writing the output folder `dir`: checks it as lp_outdir_check does and makes a
 * new, empty staging folder beside it ("DIR.partial-XXXXXX", mode 0700). `kind` (such
 * as "analysis", "export", "demo") is recorded in the marker. On failure nothing has
 * been created and *out is NULL. */
lp_status lp_outdir_begin(const char *dir, const char *kind, lp_outdir **out, lp_error *err);

/* The staging folder to write into (valid until commit or abort). */
const char *lp_outdir_path(const lp_outdir *o);

/* Declare a file name (relative to the folder) that may appear or vanish after the
 * folder is written, such as a database's "-wal" and "-shm" side files: it is listed in
 * the marker as ours whether present at commit or not. */
lp_status lp_outdir_allow(lp_outdir *o, const char *relpath, lp_error *err);

/* Finish: write the marker listing everything now in the staging folder, check `dir`
 * again, put the staging folder in its place and remove the old one (its listed entries
 * only). On failure the staging folder is removed and `dir` is as it was. Frees `o` in
 * every case. */
lp_status lp_outdir_commit(lp_outdir *o, lp_error *err);

/* Give up: remove the staging folder and free `o`; `dir` is untouched. NULL is a no-op. */
void lp_outdir_abort(lp_outdir *o);

/* Remove an output folder leopards wrote (after the check above): unlinks the entries
 * its marker lists, then the folder. An absent folder is LP_OK; a folder that is not
 * ours is refused (LP_EDENIED) untouched. */
lp_status lp_outdir_remove(const char *dir, lp_error *err);

#ifdef __cplusplus
}
#endif
#endif
