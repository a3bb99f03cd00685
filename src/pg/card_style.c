/*
 * card_style.c
 *	  The model card's style sheet: one inline CSS string (the page's
 *	  Content Security Policy allows no external resource), print-friendly.
 */
#include "card.h"

/* The style sheet of dlfin.card_html()'s page. */
const char *const dlfin_card_css =
"body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#222;background:#eceef1;margin:0;line-height:1.4}"
"main{max-width:1040px;margin:0 auto;padding:24px 36px 40px;background:#fff}"
"header{border-bottom:4px solid #0072b2;padding-bottom:12px}"
"h1{font-size:26px;margin:0 0 4px}"
".sub{color:#555;margin:0}"
"h2{font-size:20px;border-bottom:1px solid #c9ced6;padding-bottom:4px;margin:34px 0 10px;color:#0b3d66}"
"h3{font-size:15px;margin:18px 0 6px}"
"table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}"
"th,td{border:1px solid #d6dae0;padding:4px 9px;text-align:left;vertical-align:top}"
"th{background:#eef2f6;font-weight:600}"
"tr:nth-child(even) td{background:#f8f9fb}"
"td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
"table.kv th{width:200px}"
"code{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all;white-space:pre-wrap}"
".tiles{display:flex;flex-wrap:wrap;gap:10px;margin:18px 0 4px}"
".tile{flex:1 1 0;border:1px solid #d6dae0;border-left:4px solid #0072b2;border-radius:4px;padding:8px 12px;min-width:90px}"
".tile .v{font-size:22px;font-weight:bold}"
".tile .k{font-size:12px;color:#555}"
".charts{display:flex;flex-wrap:wrap;gap:16px;margin:8px 0 12px}"
"figure{margin:0;border:1px solid #d6dae0;border-radius:4px;padding:6px;background:#fff}"
"figcaption{font-size:12px;color:#555;max-width:480px;padding:4px 2px 0}"
".na{color:#6b6b6b;font-style:italic}"
".bad{color:#b3261e;font-weight:600}"
".warn{color:#8a5a00;font-weight:600}"
".good{color:#00734d;font-weight:600}"
".cm td{text-align:right;min-width:90px}"
"footer{margin-top:36px;border-top:1px solid #c9ced6;padding-top:8px;font-size:12px;color:#555}"
"@media print{body{background:#fff}main{padding:0;max-width:none}figure,table,.tiles{break-inside:avoid}h2{break-after:avoid}}";
