/* SPDX-License-Identifier: MIT */
/* Shared by the report's writers (report.c, report-json.c, report-html.c, report-log.c):
 * one report structure, the JSON tree, feeds the JSON file and the HTML page. */
#ifndef MH_REPORT_PRIVATE_H
#define MH_REPORT_PRIVATE_H

#include <json-c/json.h>

#include "report.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_object, json_object_put)

/* Sums the folders of @r into @t (its lists stay NULL; a destination folder that several
 * source folders merge into is measured once). */
void mh_report_totals(const struct mh_sync_result *r, struct mh_sync_folder_result *t);

/* The folders the run left unfinished. */
guint mh_report_unfinished(const struct mh_sync_result *r);

/* The lines the table ends with (dry run, deletions, skipped, ..., "Verdict: ..."), a new
 * NULL-terminated array (g_strfreev). */
char **mh_report_summary_lines(const struct mh_sync_result *r, bool dry);

/* Member @key of object @o as a string (NULL when absent) and as a number (0 when absent),
 * for the writers that read the tree. */
const char *mh_report_str(json_object *o, const char *key);
uint64_t mh_report_num(json_object *o, const char *key);

/* The whole report as a JSON tree (docs/report-schema.json); caller puts it. */
json_object *mh_report_json(const struct mh_sync_result *r, const struct mh_report_run *run);

/* The report tree @root as a self-contained HTML page; a new string, caller frees. */
char *mh_report_html(json_object *root);

#endif
