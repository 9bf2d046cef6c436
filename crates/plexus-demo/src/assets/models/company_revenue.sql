-- Paid revenue per company, in each invoice currency.
--
-- Stripe invoices become `invoice_paid` / `payment_failed` events (the built-in
-- stripe mapping, see plexus.yml); their `customer` participant is a resolved
-- person, and that person's company
-- membership comes from the domain of their work email. Invoices addressed to a
-- company's old domain still land on the company through
-- identity/domain_aliases.csv.
SELECT
    g.name            AS company,
    g.key             AS domain,
    e.currency        AS currency,
    SUM(e.value)      AS paid_revenue,
    COUNT(*)          AS paid_invoices,
    MIN(e.timestamp)  AS first_payment,
    MAX(e.timestamp)  AS last_payment
FROM events e
JOIN participants p ON p.event_id = e.event_id AND p.role = 'customer'
JOIN memberships m  ON m.person_id = p.entity_id AND m.group_type = 'company'
JOIN groups g       ON g.group_id = m.group_id
WHERE e.name = 'invoice_paid'
GROUP BY g.name, g.key, e.currency
ORDER BY paid_revenue DESC
