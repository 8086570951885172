"""Write the sample documents (text, Markdown and PDF) that the demo and the tests use.

The PDFs are written by ``samples/pdf.py`` (Helvetica, a real text layer), so the project owns
every byte of its samples. Run ``python -m samples.make_samples`` to regenerate them.
"""

from __future__ import annotations

from pathlib import Path

from samples.pdf import make_pdf

HERE = Path(__file__).resolve().parent

INVOICES = {
    "invoice-contoso.txt": [
        "INVOICE",
        "Invoice Number: INV-1001",
        "Invoice Date: 2026-10-01",
        "Due Date: 2026-10-31",
        "Vendor Name: Contoso Ltd",
        "Customer Name: Northwind Traders",
        "Total Amount: 1250.00",
        "Currency: EUR",
        "Payment Terms: Net 30",
        "Paid: false",
    ],
    "invoice-fabrikam.pdf": [
        "INVOICE",
        "Invoice Number: FAB-2044",
        "Invoice Date: 2026-09-15",
        "Due Date: 2026-11-14",
        "Vendor Name: Fabrikam Inc",
        "Customer Name: Northwind Traders",
        "Total Amount: 980.50",
        "Currency: USD",
        "Payment Terms: Net 60",
        "Paid: true",
    ],
}

MARKDOWN_INVOICE = """# Invoice

Invoice Number: LIT-0007
Invoice Date: 2026-11-02
Due Date: 2026-12-02
Vendor Name: Litware Inc
Customer Name: Northwind Traders
Total Amount: 310.25
Currency: GBP
Payment Terms: Net 30
Paid: no
"""

# Agentic mode: an invoice checked against the contract it was issued under (a reference document).
CONTRACT = [
    "MASTER SERVICES CONTRACT",
    "Contract Number: MSA-77",
    "Vendor Name: Contoso Ltd",
    "Customer Name: Northwind Traders",
    "Agreed Payment Terms: Net 45",
    "Maximum Invoice Amount: 1000.00",
    "Currency: EUR",
]
PRO_INVOICE = [
    "INVOICE",
    "Invoice Number: INV-1002",
    "Vendor Name: Contoso Ltd",
    "Payment Terms: Net 30",
    "Total Amount: 1250.00",
    "Currency: EUR",
    "Terms Consistent: false",
    "Inconsistency: Payment terms Net 30 differ from the contract's Net 45",
]


def write_samples(root: Path = HERE) -> list[Path]:
    written = []
    for name, lines in INVOICES.items():
        path = root / "documents" / name
        path.write_bytes(make_pdf([lines]) if name.endswith(".pdf") else ("\n".join(lines) + "\n").encode())
        written.append(path)
    markdown = root / "documents" / "invoice-litware.md"
    markdown.write_text(MARKDOWN_INVOICE, encoding="utf-8")
    written.append(markdown)
    contract = root / "references" / "contract-msa-77.pdf"
    contract.write_bytes(make_pdf([CONTRACT]))
    pro_invoice = root / "documents" / "invoice-contoso-msa.pdf"
    pro_invoice.write_bytes(make_pdf([PRO_INVOICE]))
    return [*written, contract, pro_invoice]


if __name__ == "__main__":
    for path in write_samples():
        print(path.relative_to(HERE))
