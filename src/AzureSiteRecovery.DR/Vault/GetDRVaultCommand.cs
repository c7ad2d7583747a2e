using System.Management.Automation;
using AzureSiteRecovery.DR.Common;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>Shows which vault commands use here, and why: its location, kind, sign-in and key source (never a secret).</summary>
    /// <remarks>
    /// The vault is -Vault when given, else the one Connect-DRVault set for the session, else $env:AZSR_DR_VAULT, else
    /// the per-user vault file; Source says which. Nothing is opened: a vault that cannot be reached is still shown.
    /// </remarks>
    /// <example>
    /// <code>Get-DRVault</code>
    /// <para>Kind, Location, TablePrefix, Authentication, KeySource and Source of the vault in use.</para>
    /// </example>
    /// <example>
    /// <code>Get-DRVault -Vault https://contosodr.table.core.windows.net/</code>
    /// <para>How that Table vault would be signed in to and keyed, from the session or the AZSR_DR_VAULT_* variables.</para>
    /// </example>
    [Cmdlet(VerbsCommon.Get, "DRVault")]
    [OutputType(typeof(DRVaultConnection))]
    public sealed class GetDRVaultCommand : DRCmdlet
    {
        protected override void ProcessItem()
        {
            var (connection, source) = VaultSession.Resolve(Vault, ResolvePath);
            WriteObject(new DRVaultConnection(connection, source));
        }
    }
}
