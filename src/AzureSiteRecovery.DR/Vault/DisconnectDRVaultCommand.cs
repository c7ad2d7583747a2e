using System.Management.Automation;

namespace AzureSiteRecovery.DR.Vault
{
    /// <summary>Forgets the vault Connect-DRVault set for this session, with its secrets.</summary>
    /// <remarks>Commands then use -Vault, else $env:AZSR_DR_VAULT, else the per-user vault file. Nothing is changed in the vault itself.</remarks>
    /// <example>
    /// <code>Disconnect-DRVault</code>
    /// <para>Back to the vault named by AZSR_DR_VAULT, or the default one.</para>
    /// </example>
    [Cmdlet(VerbsCommunications.Disconnect, "DRVault", SupportsShouldProcess = true)]
    [OutputType(typeof(void))]
    public sealed class DisconnectDRVaultCommand : PSCmdlet
    {
        protected override void ProcessRecord()
        {
            var current = VaultSession.Current;
            if (current is null)
            {
                WriteVerbose("No vault was connected in this session.");
                return;
            }
            if (ShouldProcess(current.ToString(), "Stop using this vault for the session"))
            {
                VaultSession.Clear();
            }
        }
    }
}
