-- Revenue per person: every order, whichever address it came from.
SELECT p.person_id, p.name, p.email, count(*) AS orders, sum(e.value) AS revenue
FROM events e
JOIN participants pa ON pa.event_id = e.event_id
JOIN persons p ON p.person_id = pa.entity_id
WHERE e.name = 'order_placed'
GROUP BY p.person_id, p.name, p.email
