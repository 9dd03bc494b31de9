/*
 * emulator/costgen_catalog.h - the fixed catalogue of meters cost lines
 * are drawn from (private to costgen.c).
 *
 * Prices are list (pay-as-you-go) prices in the pricing currency, USD,
 * with at most 6 decimals, so that with quantities of at most 6 decimals,
 * the partner earned credit factor 0.85 (2 decimals) and exchange rates of
 * at most 4 decimals every cost is exact in cb_money's 18 places.  Text
 * fields hold no comma, quote or line end, so they go into the CSV as
 * they are; additional_info is already CSV-quoted JSON.
 */
#ifndef CB_EMULATOR_COSTGEN_CATALOG_H
#define CB_EMULATOR_COSTGEN_CATALOG_H

/* What a meter is used for. */
enum {
	MK_USAGE,       /* Microsoft usage, OnDemand (PEC-eligible) */
	MK_VM,          /* as MK_USAGE, and Spot-capable */
	MK_MARKET,      /* Marketplace usage */
	MK_RESERVATION, /* a reservation (purchase, refund, covered usage) */
	MK_SAVINGSPLAN, /* a savings plan */
	MK_SAAS         /* a Marketplace SaaS purchase */
};

struct meter {
	int kind;
	const char *id;
	const char *family, *category, *subcategory, *name;
	const char *region, *location; /* meterRegion, resourceLocation */
	const char *consumed;          /* consumedService */
	const char *unit;
	const char *product_id, *product_name;
	const char *price; /* USD list price per unit; per hour for
			    * benefits */
	unsigned qmax;     /* quantity: 1..qmax units of 10^-qdec */
	unsigned qdec;
	const char *rtype; /* resource provider type, "" for purchases */
	const char *rprefix;
	const char *publisher_name, *publisher_id;
	const char *additional_info; /* CSV field text, maybe "" */
	unsigned covers;             /* benefits: the meter they cover */
};

#define VMINFO(sku, cpus)                                                      \
	"\"{\"\"ServiceType\"\":\"\"" sku "\"\",\"\"VCPUs\"\":" #cpus          \
	",\"\"ImageType\"\":\"\"Canonical\"\",\"\"UsageType\"\":\"\"ComputeHR" \
	"\"\"}\""

static const struct meter catalog[] = {
	{ MK_VM, "6513270e-269e-4d37-b2a7-4de452e6b438", "Compute",
		"Virtual Machines", "Dsv5 Series", "D2s v5", "EU West",
		"westeurope", "Microsoft.Compute", "1 Hour",
		"DZH318Z0C3S9/0013", "Virtual Machines Dsv5 Series", "0.096",
		24, 0, "Microsoft.Compute/virtualMachines", "vm-app-",
		"Microsoft", "", VMINFO("Standard_D2s_v5", 2), 0 },
	{ MK_VM, "d23f0824-128b-4f33-8c5c-7fd0a6a3a450", "Compute",
		"Virtual Machines", "Dsv5 Series", "D4s v5", "EU West",
		"westeurope", "Microsoft.Compute", "1 Hour",
		"DZH318Z0C3S9/0014", "Virtual Machines Dsv5 Series", "0.192",
		24, 0, "Microsoft.Compute/virtualMachines", "vm-api-",
		"Microsoft", "", VMINFO("Standard_D4s_v5", 4), 0 },
	{ MK_VM, "9531985d-5d9d-49f8-9818-e811892f902b", "Compute",
		"Virtual Machines", "Esv5 Series", "E4s v5", "US East",
		"eastus", "Microsoft.Compute", "1 Hour", "DZH318Z0C3SF/001B",
		"Virtual Machines Esv5 Series", "0.252", 24, 0,
		"Microsoft.Compute/virtualMachines", "vm-db-", "Microsoft", "",
		VMINFO("Standard_E4s_v5", 4), 0 },
	{ MK_VM, "36f675cc-81e7-4ef5-a8e2-5d940ed90475", "Compute",
		"Virtual Machines", "BS Series", "B2ms", "US East", "eastus",
		"Microsoft.Compute", "1 Hour", "DZH318Z0BQ4L/00C4",
		"Virtual Machines BS Series", "0.0832", 24, 0,
		"Microsoft.Compute/virtualMachines", "vm-jump-", "Microsoft",
		"", VMINFO("Standard_B2ms", 2), 0 },
	{ MK_USAGE, "6b0d549b-6f03-475a-9600-a35a099950d8", "Storage",
		"Storage", "Premium SSD Managed Disks", "P10 LRS Disk",
		"EU West", "westeurope", "Microsoft.Compute", "1/Month",
		"DZH318Z0BP04/0051", "Premium SSD Managed Disks", "19.71",
		34000, 6, "Microsoft.Compute/disks", "disk-os-", "Microsoft",
		"", "", 0 },
	{ MK_USAGE, "8d116ece-1738-47d9-bd9c-172411e20b8f", "Storage",
		"Storage", "Tiered Block Blob", "Hot LRS Data Stored",
		"EU West", "westeurope", "Microsoft.Storage", "1 GB/Month",
		"DZH318Z0BPV3/000G", "Blob Storage", "0.0184", 5000000, 4,
		"Microsoft.Storage/storageAccounts", "stdata", "Microsoft", "",
		"", 0 },
	{ MK_USAGE, "90c192cf-d3ac-44af-8f21-ddb66cad4a26", "Storage",
		"Storage", "Tiered Block Blob", "Hot Read Operations",
		"EU West", "westeurope", "Microsoft.Storage", "10K",
		"DZH318Z0BPV3/000H", "Blob Storage", "0.0044", 900000, 4,
		"Microsoft.Storage/storageAccounts", "stdata", "Microsoft", "",
		"", 0 },
	{ MK_USAGE, "a170b338-3926-4059-b28c-105d1fb17c23", "Networking",
		"Bandwidth", "Rtn Preference: MGN",
		"Standard Data Transfer Out", "Zone 1", "westeurope",
		"Microsoft.Network", "1 GB", "DZH318Z0BNVX/003N", "Bandwidth",
		"0.087", 2000000, 5, "Microsoft.Network/networkInterfaces",
		"nic-", "Microsoft", "", "", 0 },
	{ MK_USAGE, "0fd630f1-f29d-4da9-953f-48f1a09f76b5", "Networking",
		"Load Balancer", "Standard",
		"Standard Included LB Rules and Outbound Rules", "EU West",
		"westeurope", "Microsoft.Network", "1 Hour",
		"DZH318Z0BP8X/0004", "Load Balancer", "0.025", 24, 0,
		"Microsoft.Network/loadBalancers", "lb-", "Microsoft", "", "",
		0 },
	{ MK_USAGE, "0cb1e29c-658c-4a14-95e6-0af593bd04cf", "Networking",
		"Virtual Network", "IP Addresses",
		"Standard IPv4 Static Public IP", "EU West", "westeurope",
		"Microsoft.Network", "1 Hour", "DZH318Z0BNZJ/0046",
		"IP Addresses", "0.005", 24, 0,
		"Microsoft.Network/publicIPAddresses", "pip-", "Microsoft", "",
		"", 0 },
	{ MK_USAGE, "8e81973e-0bec-47b0-b898-d190f9ebdacc", "Databases",
		"SQL Database", "General Purpose - Compute Gen5", "vCore",
		"EU West", "westeurope", "Microsoft.Sql", "1 Hour",
		"DZH318Z0BQ1R/00H1", "SQL Database Single General Purpose",
		"0.5044", 96, 0, "Microsoft.Sql/servers", "sql-", "Microsoft",
		"", "", 0 },
	{ MK_USAGE, "6b4cb242-4a23-4596-a217-beaddbc496cb", "Databases",
		"Azure Cosmos DB", "RUs", "100 RU/s", "US East", "eastus",
		"Microsoft.DocumentDB", "1 Hour", "DZH318Z0BQDJ/0009",
		"Azure Cosmos DB", "0.008", 2400, 0,
		"Microsoft.DocumentDB/databaseAccounts", "cosmos-", "Microsoft",
		"", "", 0 },
	{ MK_USAGE, "92276658-1e27-41c0-8a6a-63ec24ede6a4", "Compute",
		"Azure App Service", "Premium v3 Plan", "P1 v3 App", "EU West",
		"westeurope", "Microsoft.Web", "1 Hour", "DZH318Z0BQ25/0043",
		"Azure App Service Premium v3 Plan", "0.169", 24, 0,
		"Microsoft.Web/serverfarms", "plan-", "Microsoft", "", "", 0 },
	{ MK_USAGE, "ae97ba94-d0ed-482f-8f6d-05584ef8aa38",
		"Management and Governance", "Log Analytics", "Analytics Logs",
		"Analytics Logs Data Ingestion", "EU West", "westeurope",
		"Microsoft.OperationalInsights", "1 GB", "DZH318Z0BP0N/0007",
		"Log Analytics", "2.76", 500000, 5,
		"Microsoft.OperationalInsights/workspaces", "log-", "Microsoft",
		"", "", 0 },
	{ MK_USAGE, "923a7369-94e3-4f91-9a61-dbe22e44158b", "Security",
		"Key Vault", "Standard", "Operations", "EU West", "westeurope",
		"Microsoft.KeyVault", "10K", "DZH318Z0BQ3S/0001", "Key Vault",
		"0.03", 80000, 4, "Microsoft.KeyVault/vaults", "kv-",
		"Microsoft", "", "", 0 },
	{ MK_USAGE, "18f135d2-5f55-4203-b018-50c5a38fd547", "Containers",
		"Container Registry", "Standard", "Standard Registry Unit",
		"EU West", "westeurope", "Microsoft.ContainerRegistry", "1/Day",
		"DZH318Z0BNKJ/0002", "Container Registry", "0.6667", 1, 0,
		"Microsoft.ContainerRegistry/registries", "acr", "Microsoft",
		"", "", 0 },
	{ MK_MARKET, "907a70c3-1012-4037-b64c-e4228c38fb29", "Compute",
		"Virtual Machines Licenses", "Red Hat Enterprise Linux",
		"1-4 vCPU VM License", "Unassigned", "westeurope",
		"Microsoft.Compute", "1 Hour", "DZH318Z0BXWC/0003",
		"Red Hat Enterprise Linux", "0.06", 24, 0,
		"Microsoft.Compute/virtualMachines", "vm-rhel-", "Red Hat",
		"redhat", "", 0 },
	{ MK_MARKET, "7f150524-34b9-45df-9e77-69b10f4205b4", "Networking",
		"Network Virtual Appliances", "Barracuda CloudGen Firewall",
		"BYOL Firewall Hour", "Unassigned", "westeurope",
		"Microsoft.Compute", "1 Hour", "DZH318Z0C0J5/0001",
		"Barracuda CloudGen Firewall for Azure", "0.45", 24, 0,
		"Microsoft.Compute/virtualMachines", "vm-fw-", "Barracuda",
		"barracudanetworks", "", 0 },
	{ MK_RESERVATION, "c6f87718-6d76-407e-881e-d162ae2eb154", "Compute",
		"Virtual Machines", "Reservation-Base VM", "D2s v5 1 Year",
		"EU West", "westeurope", "Microsoft.Capacity", "1 Hour",
		"DZH318Z0C3S9/0013", "Virtual Machines Dsv5 Series", "0.0566",
		1, 0, "", "", "Microsoft", "", "", 0 },
	{ MK_SAVINGSPLAN, "ec66a787-95e7-41d1-b731-af10506bf2ef", "Compute",
		"Savings Plan", "Compute Savings Plan",
		"Compute Savings Plan 1 Year", "Unassigned", "",
		"Microsoft.BillingBenefits", "1 Hour", "DZH318Z0DLMW/0001",
		"Compute Savings Plan", "0.134", 1, 0, "", "", "Microsoft", "",
		"", 2 },
	{ MK_SAAS, "3f98e277-4cbd-47ad-9c90-a9587403e430", "Email", "SendGrid",
		"SaaS", "Pro 100K", "Unassigned", "", "Microsoft.SaaS",
		"1/Month", "DZH318Z0BT2H/0002", "SendGrid Email Delivery",
		"89.95", 1, 0, "", "", "Twilio", "sendgrid", "", 0 },
};

#define NMETERS (sizeof(catalog) / sizeof(catalog[0]))

/* Indexes of the benefit and purchase products. */
enum { M_RESERVATION = 18, M_SAVINGSPLAN = 19, M_SAAS = 20 };
/* Usage meters are the first 18: 16 Microsoft ones, then 2 Marketplace. */
enum { N_MICROSOFT = 16, N_USAGE = 18, N_VM = 4 };

/* Billing currencies and their exchange rate from USD (fixed for the
 * month; at most 4 decimals so costs stay exact). */
struct fx {
	const char *currency;
	const char *rate;
};

static const struct fx fx_rates[] = { { "USD", "1" }, { "EUR", "0.9215" },
	{ "JPY", "149.53" }, { "GBP", "0.7912" }, { "AUD", "1.5284" },
	{ "CAD", "1.3621" }, { "CHF", "0.8843" }, { "DKK", "6.8744" },
	{ "NOK", "10.6231" }, { "SEK", "10.4562" }, { "INR", "83.2145" },
	{ "BRL", "5.0123" } };

#define NFX (sizeof(fx_rates) / sizeof(fx_rates[0]))

#endif
