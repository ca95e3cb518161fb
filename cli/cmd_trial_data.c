/* leopards trial data commands: record (baseline, daily, infusion, outcome, ae),
 * audit verify and log, export and import. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <leopards/trial.h>

#include "cli.h"
#include "cmd_trial.h"

/* ---- record ---- */

/* The options of every record command (with or without the kind as a word). */
#define RECORD_OPTS                                                                         \
  {"db", "FILE", "trial database"}, CLI_AUDIT_KEY_OPT,                                      \
      {"json-in", "JSON", "one record as a JSON object, or an array of them"},              \
      {"data", "FILE.csv", "records, one per row (header row of field names)"},             \
      {"user", "NAME", "investigator of the patient's site, or trial manager"},             \
      {"reason", "TEXT", "reason for changing existing records (required for a change)"}, { \
    "json", NULL, "print JSON"                                                              \
  }

const cli_opt cli_record_opts[] = {RECORD_OPTS, {0}};

const cli_opt cli_record_any_opts[] = {{"_", "KIND",
                                        "baseline, daily, infusion, outcome or ae (see 'leopards record KIND --help'; "
                                        "consent: 'leopards record consent')"},
                                       RECORD_OPTS,
                                       {0}};

int cli_run_record(const cli_args *a) {
  const char *user, *jin = cli_str(a, "json-in"), *data = cli_str(a, "data");
  int rc;
  const char *kind_s = strcmp(a->cmd->path, "record") ? a->cmd->path + strlen("record ") : cli_str(a, "_");
  if (!kind_s) return cli_usage_error(a, "which records? give the kind: baseline, daily, infusion, outcome or ae");
  lp_record_kind kind;
  lp_error err;
  if (lp_record_kind_parse(kind_s, &kind, &err)) return cli_usage_error(a, "%s", err.message);
  if ((rc = cli_require(a, "user", &user))) return rc;
  if (!!jin == !!data) return cli_usage_error(a, "give exactly one of --json-in and --data");
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  size_t rows;
  lp_findings fs = {0};
  lp_status s = jin ? lp_record_json_checked(t, kind, jin, "--json-in", user, cli_str(a, "reason"), &rows, &fs, &err)
                    : lp_record_csv_checked(t, kind, data, user, cli_str(a, "reason"), &rows, &fs, &err);
  lp_trial_close(t);
  /* every finding, hard ones included, on stderr: one a line, field named; then the
   * command line's own hints (the library's findings speak of fields, not options) */
  bool unknown_field = false, needs_reason = false;
  for (size_t i = 0; i < fs.n; i++) {
    unknown_field |= strstr(fs.items[i].text, "unknown field") != NULL;
    needs_reason |= strstr(fs.items[i].text, "a change needs a reason") != NULL;
    const lp_finding *f = &fs.items[i];
    char where[320] = "";
    if (f->line) snprintf(where, sizeof where, "%s:%ld: ", f->source, f->line);
    else if (strcmp(f->source, "--json-in"))
      snprintf(where, sizeof where, "%s: ", f->source);
    char day[24] = "";
    if (f->day) snprintf(day, sizeof day, " day %d", f->day);
    fprintf(stderr, "leopards: %s: %s%s %s%s%s%s: %s\n", lp_finding_level_name(f->level), where, f->form, f->patient,
            day, f->field[0] ? ", " : "", f->field, f->text);
  }
  if (unknown_field) fprintf(stderr, "hint: see 'leopards record %s --help'\n", lp_record_kind_name(kind));
  if (needs_reason) fprintf(stderr, "hint: give the reason with --reason\n");
  size_t nsoft = fs.soft;
  json_t *warnings = json_array();
  for (size_t i = 0; i < fs.n; i++)
    if (fs.items[i].level != LP_FINDING_HARD)
      json_array_append_new(
          warnings, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "level", lp_finding_level_name(fs.items[i].level),
                              "form", fs.items[i].form, "patient", fs.items[i].patient, "day", fs.items[i].day, "field",
                              fs.items[i].field, "text", fs.items[i].text));
  lp_findings_clear(&fs);
  if (s) {
    json_decref(warnings);
    return cli_fail(a, &err);
  }
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:I, s:o}", "kind", lp_record_kind_name(kind), "rows", (json_int_t)rows,
                                    "findings", warnings));
  json_decref(warnings);
  printf("recorded %zu %s record%s%s\n", rows, lp_record_kind_name(kind), rows == 1 ? "" : "s",
         nsoft ? " (with warnings, listed above: please check them)" : "");
  return CLI_OK;
}

const cli_opt cli_delete_opts[] = {{"db", "FILE", "trial database"},
                                   CLI_AUDIT_KEY_OPT,
                                   {"kind", "KIND", "baseline, daily, infusion, outcome or ae"},
                                   {"id", "N", "record id (see 'leopards audit log' or the export)"},
                                   {"reason", "TEXT", "why the record is deleted"},
                                   {"user", "NAME", "investigator of the patient's site, or trial manager"},
                                   {"json", NULL, "print JSON"},
                                   {0}};

int cli_run_delete(const cli_args *a) {
  const char *kind_s, *reason, *user;
  long id = 0;
  int rc;
  if ((rc = cli_require(a, "kind", &kind_s)) || (rc = cli_require(a, "reason", &reason)) ||
      (rc = cli_require(a, "user", &user)) || (rc = cli_long(a, "id", 1, 1000000000000L, &id)))
    return rc;
  if (!id) return cli_usage_error(a, "option --id is required");
  lp_record_kind kind;
  lp_error err;
  if (lp_record_kind_parse(kind_s, &kind, &err)) return cli_usage_error(a, "%s", err.message);
  lp_trial *t;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_status s = lp_record_delete(t, kind, id, user, reason, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:I, s:b}", "kind", kind_s, "id", (json_int_t)id, "deleted", 1));
  printf("deleted %s record %ld (its content stays in the audit trail)\n", kind_s, id);
  return CLI_OK;
}

/* ---- audit ---- */

const cli_opt cli_verify_opts[] = {
    {"db", "FILE", "trial database"},
    {"audit-key", "FILE", "audit key: check every MAC (default: DB.audit-key when it exists)"},
    {"checkpoint", "FILE", "checkpoint file: the trail must still extend every line of it"},
    {"anchor", "N:HASH", "entry N must have this hash (a head recorded outside the database)"},
    {"json", NULL, "print JSON"},
    {0}};

static json_t *report_json(const lp_audit_report *r, const char *key_path) {
  json_t *probs = json_array();
  for (size_t i = 0; i < r->nproblems; i++) {
    json_t *p = json_pack("{s:s}", "message", r->problems[i].message);
    if (r->problems[i].entry) json_object_set_new(p, "entry", json_integer(r->problems[i].entry));
    if (r->problems[i].table[0]) json_object_set_new(p, "table", json_string(r->problems[i].table));
    if (r->problems[i].row) json_object_set_new(p, "row", json_integer(r->problems[i].row));
    json_array_append_new(probs, p);
  }
  return json_pack("{s:b, s:I, s:I, s:s, s:b, s:s?, s:I, s:I, s:I, s:I, s:o, s:I}", "intact", r->nproblems == 0,
                   "entries", (json_int_t)r->entries, "rows_checked", (json_int_t)r->rows_checked, "head", r->head,
                   "keyed_check", r->key_checked, "audit_key", key_path, "keyed_from", (json_int_t)r->keyed_from,
                   "macs_checked", (json_int_t)r->macs_checked, "checkpoints_checked", (json_int_t)r->checkpoints,
                   "schema_objects", (json_int_t)r->schema_objects, "problems", probs, "more_problems",
                   (json_int_t)r->more);
}

int cli_run_verify(const cli_args *a) {
  long anchor = 0;
  char hex[80] = "";
  const char *an = cli_str(a, "anchor");
  if (an) {
    char *colon = strchr(an, ':'), *end;
    anchor = strtol(an, &end, 10);
    if (!colon || end != colon || anchor < 1 || strlen(colon + 1) != 64)
      return cli_usage_error(a, "--anchor: expected ENTRY:HASH (a number, a colon, 64 hex digits)");
    snprintf(hex, sizeof hex, "%s", colon + 1);
  }
  lp_trial *t;
  const char *db;
  int rc;
  if ((rc = cli_require(a, "db", &db))) return rc;
  char def[4200];
  const char *kp = cli_str(a, "audit-key");
  if (!kp) {
    lp_audit_key_default_path(db, def, sizeof def);
    if (access(def, F_OK) == 0) kp = def;
  }
  lp_error err;
  lp_audit_key *k = NULL;
  if (kp && lp_audit_key_load(NULL, kp, &k, &err)) return cli_fail(a, &err);
  if (lp_audit_open(db, &t, &err)) {
    lp_audit_key_free(k);
    return cli_fail(a, &err);
  }
  lp_audit_check c = {
      .anchor_entry = anchor, .anchor_hex = an ? hex : NULL, .key = k, .checkpoints = cli_str(a, "checkpoint")};
  lp_audit_report *r = malloc(sizeof *r);
  lp_status s = r ? lp_audit_verify_with(t, &c, r, &err) : lp_error_set(&err, LP_ENOMEM, "out of memory");
  lp_trial_close(t);
  lp_audit_key_free(k);
  if (s) {
    free(r);
    return cli_fail(a, &err);
  }
  rc = r->nproblems ? CLI_EDATA : CLI_OK;
  if (cli_has(a, "json")) {
    int prc = cli_print_json(report_json(r, kp));
    free(r);
    return rc ? rc : prc;
  }
  if (r->nproblems == 0) {
    printf(
        "audit trail intact: %ld entries chained, %ld trial rows match their latest entry, "
        "schema as expected (%ld objects)\n",
        r->entries, r->rows_checked, r->schema_objects);
    if (r->key_checked)
      printf("keyed: %ld MACs checked under the audit key %s (entries %ld to %ld)\n", r->macs_checked, kp,
             r->keyed_from, r->entries);
    else
      printf(
          "NOT keyed check: no audit key given, so only the unkeyed chain was checked; whoever can write "
          "the file can rebuild it (give --audit-key for the full check)\n");
    if (r->checkpoints)
      printf("checkpoints: the trail extends all %ld of %s\n", r->checkpoints, cli_str(a, "checkpoint"));
    printf("head: entry %ld hash %s\n", r->entries, r->head);
  } else {
    fprintf(stderr, "leopards audit verify: FAILED: %s\n", r->problems[0].message);
    printf("audit trail NOT intact: %zu problem%s%s\n", r->nproblems + r->more, r->nproblems + r->more == 1 ? "" : "s",
           r->more ? " (first ones listed)" : "");
    for (size_t i = 0; i < r->nproblems; i++) printf("  %s\n", r->problems[i].message);
  }
  free(r);
  return rc;
}

const cli_opt cli_checkpoint_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"append", "FILE", "also append the line to FILE (kept outside the database; created mode 0600)"},
    {"json", NULL, "print JSON"},
    {0}};

int cli_run_checkpoint(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  lp_audit_checkpoint c;
  lp_status s = lp_audit_checkpoint_take(t, &c, &err);
  lp_trial_close(t);
  if (!s && cli_str(a, "append")) s = lp_audit_checkpoint_append(&c, cli_str(a, "append"), &err);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:I, s:s, s:s, s:s?}", "entry", (json_int_t)c.entry, "hash", c.hash, "at", c.at,
                                    "appended_to", cli_str(a, "append")));
  char line[160];
  lp_audit_checkpoint_format(&c, line, sizeof line);
  puts(line);
  return CLI_OK;
}

const cli_opt cli_log_opts[] = {{"db", "FILE", "trial database"},
                                CLI_AUDIT_KEY_OPT,
                                {"patient", "P", "only this patient's entries"},
                                {"json", NULL, "print JSON"},
                                {0}};

typedef struct {
  bool json;
  json_t *arr;
  long n;
} log_ctx;

static int print_entry(void *ctx, const lp_audit_entry *e) {
  log_ctx *c = ctx;
  c->n++;
  if (c->json) {
    json_array_append_new(
        c->arr,
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s}", "id", (json_int_t)e->id, "at", e->at,
                  "user", e->user, "action", e->action, "table", e->table, "row", (json_int_t)e->row, "patient",
                  e->patient, "reason", e->reason, "old", e->old_value, "new", e->new_value, "hash", e->hash));
    return 0;
  }
  printf("%ld  %s  %-10s %-6s %s row %ld%s%s%s%s\n", e->id, e->at, e->user, e->action, e->table, e->row,
         e->patient ? " patient " : "", e->patient ? e->patient : "", e->reason ? "  reason: " : "",
         e->reason ? e->reason : "");
  if (e->old_value) printf("      old: %s\n", e->old_value);
  if (e->new_value) printf("      new: %s\n", e->new_value);
  return 0;
}

int cli_run_log(const cli_args *a) {
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open_readonly(a, &t))) return rc;
  log_ctx c = {cli_has(a, "json"), json_array(), 0};
  lp_error err;
  lp_status s = lp_audit_log(t, cli_str(a, "patient"), print_entry, &c, &err);
  lp_trial_close(t);
  if (s) {
    json_decref(c.arr);
    return cli_fail(a, &err);
  }
  if (c.json) return cli_print_json(c.arr);
  json_decref(c.arr);
  if (c.n == 0)
    printf("no audit entries%s%s\n", cli_str(a, "patient") ? " for patient " : "",
           cli_str(a, "patient") ? cli_str(a, "patient") : "");
  return CLI_OK;
}

/* ---- export / import ---- */

const cli_opt cli_export_opts[] = {
    {"db", "FILE", "trial database"},
    CLI_AUDIT_KEY_OPT,
    {"out", "DIR|FILE",
     "folder for the CSV files (created, or replaced when it holds an earlier export and nothing "
     "else); with --format odm, the new XML file"},
    {"format", "csv|odm", "csv (default): a file per table; odm: CDISC ODM 1.3.2 XML, blinded"},
    {"transactional", NULL, "with --format odm: every change of the audit trail instead of a snapshot"},
    {"key", "FILE", "key file: adds allocations.csv with the arms (only after lock; audited, needs --user)"},
    {"user", "NAME", "with --key: the statistician exporting the arms (recorded in the audit trail)"},
    {"json", NULL, "print JSON"},
    {0}};

static int run_export_odm(const cli_args *a, const char *out) {
  if (cli_has(a, "key")) return cli_usage_error(a, "the ODM export is blinded: --key goes with --format csv");
  lp_trial *t;
  int rc;
  if ((rc = cli_trial_open(a, &t))) return rc;
  lp_error err;
  bool tx = cli_has(a, "transactional");
  lp_status s = lp_trial_export_odm(t, out, tx, &err);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    return cli_print_json(
        json_pack("{s:s, s:s, s:s}", "out", out, "format", "odm", "file_type", tx ? "Transactional" : "Snapshot"));
  printf("exported %s (CDISC ODM 1.3.2, %s, blinded)\n", out, tx ? "Transactional" : "Snapshot");
  return CLI_OK;
}

int cli_run_export(const cli_args *a) {
  const char *out, *format = cli_str(a, "format");
  int rc;
  if ((rc = cli_require(a, "out", &out))) return rc;
  if (format && strcmp(format, "csv") && strcmp(format, "odm"))
    return cli_usage_error(a, "--format is csv or odm, not '%s'", format);
  if (format && !strcmp(format, "odm")) return run_export_odm(a, out);
  if (cli_has(a, "transactional")) return cli_usage_error(a, "--transactional goes with --format odm");
  lp_trial *t;
  lp_trial_key *k = NULL;
  lp_error err;
  lp_status s;
  if (cli_has(a, "key")) {
    /* The arms: audited (who exported them, and where), so the trial is opened for writing. */
    const char *user;
    if ((rc = cli_require(a, "user", &user))) return rc;
    if ((rc = cli_trial_open(a, &t))) return rc;
    if ((rc = cli_trial_key(a, t, &k))) {
      lp_trial_close(t);
      return rc;
    }
    s = lp_trial_export_arms(t, out, k, user, &err);
  } else {
    if (cli_has(a, "user")) return cli_usage_error(a, "--user goes with --key (an export with the arms)");
    if ((rc = cli_trial_open_readonly(a, &t))) return rc;
    s = lp_trial_export(t, out, NULL, &err);
  }
  lp_key_free(k);
  lp_trial_close(t);
  if (s) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:b}", "out", out, "allocations", k != NULL));
  printf("exported to %s%s\n", out, k ? " (with allocations.csv: the arms)" : "");
  return CLI_OK;
}

const cli_opt cli_import_opts[] = {
    {"db", "FILE", "new trial database (must not exist)"},
    {"from", "DIR", "directory written by 'leopards export'"},
    {"odm", "FILE.xml", "instead of --from: a CDISC ODM Snapshot written by 'leopards export --format odm'"},
    {"json", NULL, "print JSON"},
    {0}};

int cli_run_import(const cli_args *a) {
  const char *db, *from, *odm = cli_str(a, "odm");
  int rc;
  lp_error err;
  if (odm) {
    if (cli_has(a, "from")) return cli_usage_error(a, "give one of --from and --odm");
    if ((rc = cli_require(a, "db", &db))) return rc;
    if (lp_trial_import_odm(db, odm, &err)) return cli_fail(a, &err);
    if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:s, s:b}", "db", db, "odm", odm, "allocations", 0));
    printf("imported %s into %s (no allocations: analyse it blinded, or continue it with a new list)\n", odm, db);
    return CLI_OK;
  }
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "from", &from))) return rc;
  if (lp_trial_import(db, from, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json")) return cli_print_json(json_pack("{s:s, s:s, s:b}", "db", db, "from", from, "verified", 1));
  printf("imported %s into %s; audit trail verified\n", from, db);
  return CLI_OK;
}

/* ---- backup / restore ---- */

const cli_opt cli_backup_opts[] = {{"db", "FILE", "trial database (may be in use: randomisation carries on)"},
                                   {"out", "FILE", "the backup file to write (must not exist)"},
                                   {"json", NULL, "print JSON"},
                                   {0}};

int cli_run_backup(const cli_args *a) {
  const char *db, *out;
  int rc;
  if ((rc = cli_require(a, "db", &db)) || (rc = cli_require(a, "out", &out))) return rc;
  lp_error err;
  lp_backup_info b;
  if (lp_trial_backup(db, out, &b, &err)) return cli_fail(a, &err);
  if (cli_has(a, "json"))
    rc = cli_print_json(json_pack("{s:s, s:s, s:b, s:I, s:s, s:s?}", "db", db, "backup", out, "intact", b.intact,
                                  "entries", (json_int_t)b.entries, "head", b.head, "problem",
                                  b.intact ? NULL : b.problem));
  else
    printf("backup of %s written to %s: %ld audit entries, head %s%s%s\n", db, out, b.entries, b.head,
           b.intact ? "" : "; its audit trail does NOT verify: ", b.intact ? "" : b.problem);
  if (!b.intact) fprintf(stderr, "leopards backup: the copy's audit trail does not verify: %s\n", b.problem);
  return b.intact ? rc : CLI_EDATA;
}

const cli_opt cli_restore_opts[] = {
    {"backup", "FILE", "a backup written by 'leopards backup'"},
    {"db", "FILE", "the trial database to restore into"},
    {"replace", NULL, "replace an existing trial file (a copy of it is kept as DB.replaced-TIME.bak)"},
    {"audit-key", "FILE", "the trial's audit key: the backup's trail is checked keyed"},
    {"checkpoint", "FILE", "audit checkpoints kept apart: the backup must extend every line (no rollback)"},
    {"json", NULL, "print JSON"},
    {0}};

int cli_run_restore(const cli_args *a) {
  const char *db, *bak;
  int rc;
  if ((rc = cli_require(a, "backup", &bak)) || (rc = cli_require(a, "db", &db))) return rc;
  lp_error err;
  lp_restore_options o = {
      .replace = cli_has(a, "replace"), .audit_key = cli_str(a, "audit-key"), .checkpoints = cli_str(a, "checkpoint")};
  lp_restore_info r;
  if (lp_trial_restore(bak, db, &o, &r, &err)) {
    rc = cli_fail(a, &err);
    if (err.status == LP_ESTATE && strstr(err.message, "only when asked"))
      fprintf(stderr, "hint: add --replace to replace it\n");
    return rc;
  }
  if (cli_has(a, "json"))
    return cli_print_json(json_pack("{s:s, s:s, s:I, s:s, s:b, s:s?}", "db", db, "backup", bak, "entries",
                                    (json_int_t)r.entries, "head", r.head, "replaced", r.replaced, "kept",
                                    r.replaced ? r.kept : NULL));
  printf("restored %s from %s: audit trail intact, %ld entries, head %s\n", db, bak, r.entries, r.head);
  if (r.replaced) printf("the trial file it replaced is kept as %s\n", r.kept);
  return CLI_OK;
}
