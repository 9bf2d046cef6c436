-- Workspaces with product activity in the last 30 days of the demo data
-- (October 2026), with their plan and how many distinct people were active.
--
-- Product events are Segment track calls (source product_events); each names
-- its workspace as context.groupId, the connector's group_id column, mapped
-- as a `workspace` membership of the acting user.
SELECT
    w.id                          AS workspace_id,
    w.name                        AS workspace,
    w.plan                        AS plan,
    COUNT(DISTINCT pe.user_id)    AS active_users,
    COUNT(*)                      AS events,
    MAX(pe."timestamp")           AS last_activity
FROM product_events pe
JOIN workspaces w ON w.id = pe.group_id
WHERE pe.type = 'track' AND pe."timestamp" >= '2026-10-01T00:00:00Z'
GROUP BY w.id, w.name, w.plan
ORDER BY active_users DESC, events DESC
