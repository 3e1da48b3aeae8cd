"""The warehouse as a BI tool sees it: connect over the PostgreSQL wire protocol that Redshift
speaks (what Tableau's, Power BI's and DBeaver's Redshift connectors use) to the host and port
of the JDBC URL `ecomflow-infra outputs` prints, as the master user with the password from
the cluster's AWS-managed secret, and run the dashboard's queries: revenue by month and by
country, and the top customers.

    python examples/bi/dashboard_queries.py --outputs outputs.json [--sslmode require]

`outputs.json` is `ecomflow-infra outputs --json`. The secret is read with boto3 (which honours
AWS_ENDPOINT_URL, so the same script reads the local emulator's). Prints one JSON object;
amounts are exact decimals, as text.
"""

import argparse
import json
import re

import boto3
import psycopg

QUERIES = {
    "by_month": """
        SELECT TO_CHAR(DATE_TRUNC('month', invoice_date), 'YYYY-MM') AS month,
               COUNT(*) AS lines, SUM(quantity * unit_price) AS revenue
        FROM invoice_lines GROUP BY 1 ORDER BY 1""",
    "by_country": """
        SELECT country, COUNT(*) AS lines, SUM(quantity * unit_price) AS revenue
        FROM invoice_lines GROUP BY country ORDER BY revenue DESC, country""",
    "top_customers": """
        SELECT customer_id, COUNT(DISTINCT invoice_no) AS invoices,
               SUM(quantity * unit_price) AS revenue
        FROM invoice_lines WHERE customer_id IS NOT NULL
        GROUP BY customer_id ORDER BY revenue DESC, customer_id LIMIT 10""",
    "totals": "SELECT COUNT(*) AS lines, SUM(quantity * unit_price) AS revenue FROM invoice_lines",
}


def connect(outputs, sslmode):
    warehouse = outputs["warehouse"]
    host, port, database = re.fullmatch(r"jdbc:redshift://([^:/]+):(\d+)/(.+)", warehouse["jdbc_url"]).groups()
    arn = warehouse["master_password_secret_arn"]
    # The secret's region is the one its ARN names.
    secrets = boto3.client("secretsmanager", region_name=arn.split(":")[3])
    secret = secrets.get_secret_value(SecretId=arn)
    credentials = json.loads(secret["SecretString"])
    return psycopg.connect(
        host=host,
        port=int(port),
        dbname=database,
        user=credentials["username"],
        password=credentials["password"],
        sslmode=sslmode,
        connect_timeout=10,
    )


def text(value):
    return None if value is None else str(value)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--outputs", required=True, help="the JSON of `ecomflow-infra outputs --json`")
    ap.add_argument("--sslmode", default="prefer", help="libpq sslmode (AWS clusters: require)")
    args = ap.parse_args()
    with open(args.outputs) as f:
        outputs = json.load(f)
    result = {}
    with connect(outputs, args.sslmode) as conn:
        for name, sql in QUERIES.items():
            cur = conn.execute(sql)
            columns = [c.name for c in cur.description]
            result[name] = [dict(zip(columns, map(text, row))) for row in cur.fetchall()]
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
