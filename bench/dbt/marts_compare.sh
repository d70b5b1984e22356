#!/bin/bash
# bench/dbt/marts_compare.sh BASE_DB NEW_DB [SERVER_URL]: compare the client-development marts of two
# databases built by bench/dbt/marts_scale.py --keep from the same seed (e.g. the previous commit
# and this one): month/quarter/year rows only, every column, sorted CSV; prints identical or the
# number of differing lines per mart (files in /tmp/marts-cmp-*).
B=$1; N=$2; U=${3:-postgresql://postgres@127.0.0.1:5432}
q() { psql "$U/$1" -qAtc "\copy ($2) to stdout with csv"; }
declare -A SQL
SQL[client_period_revenue]="select * from marts.client_period_revenue where period_grain <> 'half' and (purchase_days > 0 or revenue <> 0 or quantity <> 0 or returns_revenue <> 0) order by 1,2,5"
SQL[abc_xyz_clients]="select * from marts.abc_xyz_clients where period_grain <> 'half' order by 1,2,4"
SQL[client_stability]="select * from marts.client_stability where period_grain <> 'half' order by 1,2,4"
SQL[client_stability_summary]="select * from marts.client_stability_summary where period_grain <> 'half' order by 1,2,4,5,6"
SQL[lost_sales_by_channel]="select * from marts.lost_sales_by_channel where period_grain <> 'half' order by 1,2,4"
SQL[client_concentration]="select * from marts.client_concentration where period_grain <> 'half' order by 1,2,4"
SQL[top_clients_share]="select * from marts.top_clients_share order by 2"
SQL[client_base_by_region]="select * from marts.client_base_by_region where period_grain <> 'half' order by 1,2,4,5"
SQL[segmentation_matrix]="select * from marts.segmentation_matrix where period_grain <> 'half' order by 1,2,4,5,6"
SQL[assortment_fulfilment]="select assortment_row_id, client_id, manager_id, department_id, period_grain, period_label, channel, mandatory_items, bought_items, fulfilment_share, is_complete, period_start from marts.assortment_fulfilment where period_grain <> 'half' order by 1"
SQL[dim_clients_without_rfm]="select client_id, abc_class, xyz_class, stability_type, segment_cell, first_purchase_date, last_purchase_date from marts.dim_clients order by 1"
SQL[purchase_periodicity]="select * from marts.purchase_periodicity order by 1"
SQL[overdue_clients]="select * from marts.overdue_clients order by 1"
SQL[abc_xyz_products]="select * from marts.abc_xyz_products where period_grain <> 'half' order by 1,2,4"
SQL[rfm_segments_by_design]="select client_id, r_score, f_score, m_score from marts.rfm_segments order by 1"
for t in "${!SQL[@]}"; do
  q $B "${SQL[$t]}" > /tmp/marts-cmp-$t.base; q $N "${SQL[$t]}" > /tmp/marts-cmp-$t.new
  nb=$(wc -l < /tmp/marts-cmp-$t.base); nn=$(wc -l < /tmp/marts-cmp-$t.new)
  if cmp -s /tmp/marts-cmp-$t.base /tmp/marts-cmp-$t.new; then echo "$t: identical ($nb rows)"; else echo "$t: DIFFERENT base $nb rows, new $nn rows, $(diff /tmp/marts-cmp-$t.base /tmp/marts-cmp-$t.new | grep -c '^[<>]') differing lines"; fi
done
