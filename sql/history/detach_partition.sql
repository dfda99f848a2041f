-- Detach one month from transactions; {partition} is an identifier composed by the caller. Takes the
-- table's lock until the transaction ends, so no row reaches the month between this and its sums.
ALTER TABLE transactions DETACH PARTITION {partition}
