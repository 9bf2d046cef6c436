-- One row per resolved person: in how many sources they appear, how many
-- timeline events they take part in, and when they were first and last seen.
-- People found in 4+ sources are where identity resolution pays off: their
-- sign-up, invoices, tickets and emails were written with different spellings
-- of their address.
SELECT
    pr.person_id,
    pr.name,
    pr.email,
    COUNT(DISTINCT e.source)  AS sources,
    COUNT(*)                  AS events,
    MIN(e.timestamp)          AS first_event,
    MAX(e.timestamp)          AS last_event
FROM persons pr
JOIN participants p ON p.entity_id = pr.person_id
JOIN events e       ON e.event_id = p.event_id
GROUP BY pr.person_id, pr.name, pr.email
ORDER BY sources DESC, events DESC
